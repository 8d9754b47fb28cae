"""sources.normalize: canonical URLs, clean text, stable identity, UTC dates."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from spacedigest.sources.feed import parse_feed
from spacedigest.sources.models import Entry, ParseResult, Source
from spacedigest.sources.normalize import (
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    canonical_url,
    normalize,
    title_key,
)
from spacedigest.sources.text import plain_text as clean_text
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
FETCHED_AT = datetime(2024, 11, 6, 12, 0, tzinfo=timezone.utc)
SOURCE = Source(id="test-src", organisation="ESA", kind="feed", url="https://agency.example.org/rss", language="fr")


def ingest(name: str, *, url: str = SOURCE.url, source: Source = SOURCE, body: bytes | None = None):
    result = parse_feed(body if body is not None else (FEEDS / name).read_bytes(), url=url)
    return normalize(result, source, fetched_at=FETCHED_AT, base_url=url)


# --- canonical_url -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, base, expected",
    [
        ("HTTPS://News.Example.ORG:443/a?x=1#frag", None, "https://news.example.org/a?x=1"),
        ("http://example.org:80", None, "http://example.org/"),
        ("http://example.org:8080/x", None, "http://example.org:8080/x"),
        ("www.esa.int/Our_Activities", None, "https://www.esa.int/Our_Activities"),
        ("www.esa.int/", "https://www.esa.int/rssfeed/TopNews", "https://www.esa.int/"),
        ("esa.int/news/1", "https://other.example/", "https://esa.int/news/1"),
        ("//cdn.example.org/a", None, "https://cdn.example.org/a"),
        ("/news/1", "https://agency.example.org/feed/rss", "https://agency.example.org/news/1"),
        ("news/1", "https://agency.example.org/feed/", "https://agency.example.org/feed/news/1"),
        ("index.html/x", "https://agency.example.org/d/", "https://agency.example.org/d/index.html/x"),
        ("?page=2", "https://agency.example.org/list", "https://agency.example.org/list?page=2"),
        ("/a b/c", "https://agency.example.org/", "https://agency.example.org/a%20b/c"),
        ("https://example.org/p?a=1&utm_source=x&b=&UTM_Medium=y&c=3", None, "https://example.org/p?a=1&b=&c=3"),
        (
            "https://example.org/p?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&_hsenc=5&_hsmi=6&ref=7&xtor=8&at_medium=9&id=10",
            None,
            "https://example.org/p?id=10",
        ),
        ("https://example.org/p?b=2&a=1", None, "https://example.org/p?b=2&a=1"),  # order kept
        ("https://example.org/p?q=%20x+y", None, "https://example.org/p?q=%20x+y"),  # encoding kept
        ("https://例え.jp/パス", None, "https://例え.jp/%E3%83%91%E3%82%B9"),
        ("  https://example.org/\x00a\n ", None, "https://example.org/a"),
    ],
)
def test_canonical_url(raw, base, expected):
    assert canonical_url(raw, base) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java\x00script:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "mailto:someone@example.org",
        "ftp://example.org/file",
        "http://",
        "http://exa mple.org/",
        "http://example.org:99999/",
        "http://[::1/",
        "",
        "   ",
        None,
    ],
)
def test_canonical_url_refuses_unsafe_or_unusable_links(raw):
    assert canonical_url(raw, "https://agency.example.org/") is None


def test_relative_link_without_base_is_unusable():
    assert canonical_url("/news/1") is None
    assert canonical_url("/news/1", "javascript:alert(1)") is None


# --- clean_text / title_key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("<p>First</p><p>second<br>third</p>", "First second third"),
        ("Fish &amp; chips &eacute;t&eacute; &#233; &nbsp;x", "Fish & chips été é x"),
        ("<script>alert(1)</script><style>p{}</style>Visible", "Visible"),
        ('<img src=x onerror="alert(1)">Caption', "Caption"),
        ("<!-- hidden -->shown", "shown"),
        ("a < b and c > d", "a < b and c > d"),
        ("AT&T", "AT&T"),
        ("Null\x00 byte\x07 bell\x1b", "Null byte bell"),
        ("bidi \u202eevil\u202c text\u200b", "bidi evil text"),
        ("  lots \n\t of   space  ", "lots of space"),
        ("<html><head><title>Doc</title></head><body><h1>Head</h1>Body</body></html>", "Head Body"),
        ("宇宙<b>ビジネス</b>", "宇宙ビジネス"),
        (None, ""),
        ("", ""),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_cuts_at_a_word_boundary():
    text = "Applications are open for the space incubator programme in Harwell"
    cut = clean_text(text, max_chars=30)
    assert cut == "Applications are open for the…"
    assert len(cut) <= 30
    assert clean_text("short", max_chars=30) == "short"


def test_clean_text_cuts_text_without_spaces_hard():
    cut = clean_text("宇" * 100, max_chars=10)
    assert cut == "宇" * 9 + "…"


def test_title_key_folds_case_width_and_punctuation():
    assert title_key("  Call for Ideas: ＬＵＮＡＲ “logistics”! ") == "call for ideas lunar logistics"
    assert title_key("Call for ideas — lunar logistics") == title_key("call for IDEAS: Lunar   Logistics.")
    assert title_key("宇宙ビジネス、公募。") == "宇宙ビジネス 公募"


# --- identity ------------------------------------------------------------------------------------


def test_changelog_entries_sharing_one_link_stay_distinct():
    items = ingest("changelog.xml", url="https://tools.example.org/rss")
    assert [i.title for i in items] == ["Release 2.1.0", "Release 2.0.1", "Release 2.0.0", "Roadmap for 2025"]
    assert {i.url for i in items[:3]} == {"https://tools.example.org/changelog"}
    assert len({i.entry_key for i in items}) == 4
    assert all(i.guid is None for i in items)


def test_reused_guid_keeps_different_entries_and_collapses_true_duplicates():
    items = ingest("reused_guid.xml")
    assert [i.title for i in items] == [
        "Call for ideas: lunar logistics",
        "Call for ideas: in-orbit servicing",
        "Incubator intake 2025",  # listed twice verbatim: one announcement (the first, newest)
    ]
    assert len({i.entry_key for i in items}) == 3
    assert items[0].guid == items[1].guid == "call"
    assert items[2].published_at == datetime(2024, 10, 30, 9, 0, tzinfo=timezone.utc)


def test_identity_never_depends_on_position_or_fetch():
    body = (FEEDS / "reused_guid.xml").read_bytes()
    first = ingest("", body=body)
    items = body.split(b"<item>")
    reordered = items[0] + b"<item>" + b"<item>".join(reversed(items[1:])).replace(b"</channel>", b"")
    reordered = reordered.replace(b"</rss>", b"") + b"</channel></rss>"
    second = normalize(
        parse_feed(reordered, url=SOURCE.url), SOURCE, fetched_at=FETCHED_AT + timedelta(days=3), base_url=SOURCE.url
    )
    assert {(i.title, i.entry_key, i.content_hash) for i in first} == {
        (i.title, i.entry_key, i.content_hash) for i in second
    }


def test_same_guid_in_two_sources_gives_different_keys_per_source():
    other = Source(id="other-src", organisation="ESA", kind="feed", url=SOURCE.url)
    ours = ingest("reused_guid.xml")
    theirs = ingest("reused_guid.xml", source=other)
    assert not {i.entry_key for i in ours} & {i.entry_key for i in theirs}
    assert [i.guid for i in ours] == [i.guid for i in theirs]  # cross-source matching uses guid/url


def test_entries_without_id_link_date_or_title_are_kept():
    items = ingest("no_ids.xml", url="https://sloppy.example.org/rss")
    by_title = {i.title: i for i in items}
    toulouse = by_title["Partnership day in Toulouse"]
    assert toulouse.url is None and toulouse.guid is None
    assert toulouse.published_at == datetime(2024, 11, 4, 8, 0, tzinfo=timezone.utc)
    assert not toulouse.published_estimated
    harwell = by_title["Partnership day in Harwell"]
    assert harwell.published_at == FETCHED_AT and harwell.published_estimated
    grants = [i for i in items if i.url == "https://sloppy.example.org/grants"][0]
    assert grants.title.startswith("Grant scheme for small satellite makers")
    assert grants.title.endswith("…") and len(grants.title) <= 80
    assert by_title["https://sloppy.example.org/untitled-page"].url == "https://sloppy.example.org/untitled-page"
    assert by_title["(untitled)"].guid == "only-a-guid"
    # The last item has nothing but a date: nothing to show, nothing to identify it by.
    assert len(items) == 5
    assert len({i.entry_key for i in items}) == 5


def test_no_id_no_link_identity_survives_a_later_fetch():
    first = ingest("no_ids.xml", url="https://sloppy.example.org/rss")
    result = parse_feed((FEEDS / "no_ids.xml").read_bytes(), url="https://sloppy.example.org/rss")
    later = normalize(result, SOURCE, fetched_at=FETCHED_AT + timedelta(days=7), base_url="https://sloppy.example.org/rss")
    assert [(i.entry_key, i.content_hash) for i in first] == [(i.entry_key, i.content_hash) for i in later]
    assert later[1].published_at == FETCHED_AT + timedelta(days=7)  # estimated again, hash unchanged


def test_an_edit_changes_the_content_hash_but_not_the_key():
    body = (FEEDS / "reused_guid.xml").read_bytes()
    before = ingest("", body=body)[2]
    after = ingest("", body=body.replace(b"Incubator intake 2025", b"Incubator intake 2025 (extended)"))[2]
    assert before.entry_key == after.entry_key
    assert before.content_hash != after.content_hash


# --- links, text and dates -------------------------------------------------------------------


def test_relative_and_scheme_less_links_are_resolved_against_the_channel_link():
    items = ingest("relative_links.xml", url="https://feeds.example.net/agency.rss")
    assert [i.url for i in items] == [
        "https://www.agency.example.org/news/2024/root-relative",
        "https://www.agency.example.org/news/2024/path-relative",
        "https://cdn.agency.example.org/news/protocol-relative",
        "https://www.agency.example.org/news/scheme-less",
    ]


def test_fetched_url_is_the_base_when_the_channel_has_no_link():
    result = ParseResult(entries=[Entry(title="t", link="news/1", guid="g")], feed_link=None)
    (item,) = normalize(result, SOURCE, fetched_at=FETCHED_AT, base_url="https://agency.example.org/feeds/rss")
    assert item.url == "https://agency.example.org/feeds/news/1"


def test_hostile_feed_yields_no_unsafe_links_or_markup():
    items = ingest("hostile.xml", url="https://hostile.example.org/rss")
    assert len(items) == 6
    by_guid = {i.guid: i for i in items}
    assert by_guid["h1"].url is None and by_guid["h2"].url is None and by_guid["h3"].url is None
    assert by_guid["h1"].title == "Script in title"
    assert by_guid["h1"].summary == "Image handler"
    assert by_guid["h2"].summary == "click"
    assert by_guid["h4"].url == "https://news.example.org/item?id=42&page=2"
    for item in items:
        for text in (item.title, item.summary):
            assert "<" not in text and "javascript" not in text.lower() and "onerror" not in text


def test_future_and_epoch_zero_dates_are_estimated():
    by_guid = {i.guid: i for i in ingest("hostile.xml", url="https://hostile.example.org/rss")}
    assert by_guid["h5"].published_at == FETCHED_AT and by_guid["h5"].published_estimated
    assert by_guid["h6"].published_at == FETCHED_AT and by_guid["h6"].published_estimated
    assert not by_guid["h4"].published_estimated


def test_a_date_slightly_ahead_is_kept():
    result = ParseResult(entries=[Entry(title="t", guid="g", published=FETCHED_AT + timedelta(days=1))])
    (item,) = normalize(result, SOURCE, fetched_at=FETCHED_AT)
    assert item.published_at == FETCHED_AT + timedelta(days=1) and not item.published_estimated


def test_published_at_is_utc_and_updated_is_the_fallback():
    jst = timezone(timedelta(hours=9))
    result = ParseResult(entries=[
        Entry(title="a", guid="a", published=datetime(2024, 11, 5, 9, 0, tzinfo=jst)),
        Entry(title="b", guid="b", updated=datetime(2024, 11, 4, 9, 0, tzinfo=jst)),
    ])
    a, b = normalize(result, SOURCE, fetched_at=FETCHED_AT)
    assert a.published_at == datetime(2024, 11, 5, 0, 0, tzinfo=timezone.utc)
    assert a.published_at.utcoffset() == timedelta(0)
    assert b.published_at == datetime(2024, 11, 4, 0, 0, tzinfo=timezone.utc)


def test_nul_bytes_and_huge_titles_are_cleaned_and_capped():
    huge = "Very long title " * 200
    result = ParseResult(entries=[
        Entry(title=huge, guid="long", summary="word " * 1000),
        Entry(title="Nul\x00 title", guid="nul\x00guid", link="https://example.org/\x00x", summary="a\x00b"),
    ])
    long_item, nul_item = normalize(result, SOURCE, fetched_at=FETCHED_AT)
    assert len(long_item.title) <= TITLE_MAX_CHARS and long_item.title.endswith("…")
    assert len(long_item.summary) <= SUMMARY_MAX_CHARS and long_item.summary.endswith("…")
    assert nul_item.title == "Nul title" and nul_item.guid == "nulguid"
    assert nul_item.url == "https://example.org/x" and nul_item.summary == "ab"


def test_source_fields_are_carried():
    (item, *_) = ingest("changelog.xml", url="https://tools.example.org/rss")
    assert (item.source_id, item.organisation, item.language) == ("test-src", "ESA", "fr")


def test_japanese_rdf_feed():
    source = Source(id="jaxa-press", organisation="JAXA", kind="feed", url="https://press.example.jp/rss.rdf", language="ja")
    (item,) = ingest("jaxa_like.rdf", url=source.url, source=source)
    assert item.title == "宇宙ビジネス共創プログラム 参加企業募集のお知らせ"  # ideographic space collapsed
    assert item.summary == "参加企業を募集します。締切：2024年12月20日"
    assert item.published_at == datetime(2024, 11, 5, 6, 0, tzinfo=timezone.utc)
    assert item.language == "ja"


def test_plainly_japanese_entries_in_an_english_feed_are_marked_japanese():
    from spacedigest.sources.normalize import language_of

    assert language_of("宇宙戦略基金 第2期の公募について", "", "en") == "ja"
    assert language_of("ESA opens InCubed call", "", "en") == "en"
    assert language_of("Appel à projets CNES", "", "fr") == "fr"
    assert language_of("JAXA", "", "ja") == "ja"
