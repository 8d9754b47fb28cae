"""sources.feed.parse_feed: bytes -> entries, and a clear one-line ParseError when it is not a feed."""
from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from spacedigest.sources.feed import gunzip_capped, looks_like_html, parse_feed
from spacedigest.sources.models import ParseError
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
RSS = "application/rss+xml"


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss_entries_are_filled_from_the_feed():
    result = parse_feed(load("reused_guid.xml"), url="https://agency.example.org/rss", content_type=RSS)
    assert result.feed_title == "Agency calls"
    assert result.feed_link == "https://agency.example.org/"
    first = result.entries[0]
    assert first.title == "Call for ideas: lunar logistics"
    assert first.link == "https://agency.example.org/calls/lunar-logistics"
    assert first.guid == "call"
    assert first.published == datetime(2024, 11, 1, 9, 0, tzinfo=timezone.utc)
    assert len(result.entries) == 4  # the parser keeps every entry; identity is the normalizer's job


def test_atom_dates_are_utc_and_links_follow_xml_base():
    result = parse_feed(load("relative_links.atom"), url="https://blog.example.org/feed.atom")
    first, second = result.entries
    assert first.updated == datetime(2024, 11, 1, 0, 0, tzinfo=timezone.utc)  # 09:00+09:00
    assert first.published is None
    assert first.link == "https://blog.example.org/posts/launch-recovery.html"
    assert second.published == datetime(2024, 10, 30, 12, 0, tzinfo=timezone.utc)
    assert second.updated == datetime(2024, 10, 31, 12, 0, tzinfo=timezone.utc)
    assert result.feed_link == "https://blog.example.org/"


def test_plain_text_constructs_are_escaped_so_angle_brackets_stay_text():
    result = parse_feed(load("relative_links.atom"), url="https://blog.example.org/feed.atom")
    html_title, plain_title = (e.title for e in result.entries)
    assert html_title == "Launch &amp; recovery <em>workshop</em>"
    assert plain_title == "Tags like &lt;b&gt; stay text in a plain title"
    assert result.entries[1].summary == "Plain summary with 1 &lt; 2."


def test_content_is_used_when_there_is_no_summary():
    result = parse_feed(load("relative_links.atom"), url="https://blog.example.org/feed.atom")
    assert result.entries[0].summary == '<p>See <a href="details.html">the details</a>.</p>'


def test_rdf_with_dublin_core_dates():
    result = parse_feed(load("jaxa_like.rdf"), url="https://press.example.jp/rss.rdf")
    (entry,) = result.entries
    assert entry.title.startswith("宇宙ビジネス共創プログラム")
    assert entry.updated == datetime(2024, 11, 5, 6, 0, tzinfo=timezone.utc)  # dc:date
    assert entry.guid == "https://press.example.jp/2024/11/20241105.html"  # rdf:about


def test_scheme_less_channel_link_is_repaired():
    result = parse_feed(load("relative_links.xml"), url="https://agency.example.org/rss")
    assert result.feed_link == "https://www.agency.example.org/"


def test_valid_feed_without_entries_is_a_success():
    result = parse_feed(load("empty_channel.atom"), url="https://quiet.example.org/feed")
    assert result.entries == ()
    assert result.feed_title == "Nothing yet"


@pytest.mark.parametrize("body", [b"", b"   \n\t  "])
def test_empty_response_is_an_error(body):
    with pytest.raises(ParseError, match="^empty response$"):
        parse_feed(body, url="https://x.example/feed")


def test_html_error_page_is_not_a_feed():
    with pytest.raises(ParseError, match="^not a feed: got an HTML page$"):
        parse_feed(load("error_page.html"), url="https://x.example/feed", content_type="text/html")


def test_html_page_served_as_rss_is_not_a_feed():
    page = b"\xef\xbb\xbf\n<!-- cached -->\n<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>"
    with pytest.raises(ParseError, match="^not a feed: got an HTML page$"):
        parse_feed(page, url="https://x.example/feed", content_type="application/rss+xml; charset=utf-8")


def test_json_or_text_is_not_a_feed_and_says_why():
    with pytest.raises(ParseError, match="^not a feed: ") as caught:
        parse_feed(b'{"items": []}', url="https://x.example/feed", content_type="application/json")
    assert "\n" not in str(caught.value)


def test_looks_like_html_only_looks_at_the_root():
    assert looks_like_html(b"<?xml version='1.0'?>\n<!DOCTYPE html><html>")
    assert looks_like_html(b"  <HTML lang='fr'>")
    assert not looks_like_html(load("relative_links.atom"))  # carries <p> etc. in content
    assert not looks_like_html(b"<rss><channel><description>&lt;html&gt;</description></channel></rss>")


def test_gzip_body_is_decompressed():
    body = gzip.compress(load("changelog.xml"))
    assert body[:2] == b"\x1f\x8b"
    assert len(parse_feed(body, url="https://tools.example.org/rss").entries) == 4


def test_gzip_bomb_is_refused_not_expanded():
    bomb = gzip.compress(b"<rss>" + b" " * (8 * 1024 * 1024))
    with pytest.raises(ParseError, match="expands past"):
        gunzip_capped(bomb, 1024 * 1024)
    assert gunzip_capped(gzip.compress(b"<rss/>"), 1024) == b"<rss/>"


def test_corrupt_gzip_is_a_parse_error():
    with pytest.raises(ParseError, match="corrupt gzip body"):
        parse_feed(b"\x1f\x8b\x08\x00garbage", url="https://x.example/feed")


def test_malformed_feed_still_yields_entries_with_a_warning():
    # A bare '&' as in ESA's real feed: not well-formed XML, still readable.
    body = load("changelog.xml").replace(b"Adds export to CSV.", b"Adds export & import.")
    result = parse_feed(body, url="https://tools.example.org/rss")
    assert len(result.entries) == 4
    assert result.warnings and result.warnings[0].startswith("malformed feed:")


def test_nul_bytes_do_not_stop_parsing():
    body = load("changelog.xml").replace(b"Release 2.1.0", b"Release\x00 2.1.0")
    result = parse_feed(body, url="https://tools.example.org/rss")
    assert len(result.entries) == 4


def test_dates_feedparser_cannot_read_are_still_read():
    body = load("changelog.xml").replace(b"Tue, 05 Nov 2024 10:00:00 +0000", b"Tue, 05 Nov 2024 10:00:00")
    body = body.replace(b"Mon, 28 Oct 2024 10:00:00 +0000", b"28 octobre 2024")
    body = body.replace(b"Mon, 14 Oct 2024 10:00:00 +0000", b"No date found.")
    entries = parse_feed(body, url="https://tools.example.org/rss").entries
    assert entries[0].published == datetime(2024, 11, 5, 10, 0, tzinfo=timezone.utc)  # zone-less: UTC
    assert entries[1].published == datetime(2024, 10, 28, tzinfo=timezone.utc)
    assert entries[2].published is None


TEMPLATE = (
    '<?xml version="1.0"{declaration}?>\n<rss version="2.0"><channel><title>{text}</title>'
    "<link>https://agency.example/</link><item><title>{text}</title><link>https://agency.example/1</link>"
    "<description>{text}</description></item></channel></rss>"
)
ENCODED_TEXTS = {
    "windows-1251": "Новости космоса: конкурс",
    "iso-8859-1": "Données spatiales : appel à idées, été",
    "shift_jis": "宇宙ビジネス公募のお知らせ",
    "euc-jp": "宇宙ビジネス公募のお知らせ",
}


@pytest.mark.parametrize("encoding", ENCODED_TEXTS)
@pytest.mark.parametrize("declared_in", ["xml", "http"])
def test_legacy_encodings_declared_in_xml_or_http(encoding, declared_in):
    text = ENCODED_TEXTS[encoding]
    declaration = f' encoding="{encoding}"' if declared_in == "xml" else ""
    body = TEMPLATE.format(declaration=declaration, text=text).encode(encoding)
    content_type = f"application/rss+xml; charset={encoding}" if declared_in == "http" else RSS
    result = parse_feed(body, url="https://agency.example/rss", content_type=content_type)
    assert result.entries[0].title == text
    assert result.feed_title == text


def test_charset_declared_wrong_still_parses():
    body = TEMPLATE.format(declaration=' encoding="utf-8"', text="Новости").encode("windows-1251")
    result = parse_feed(body, url="https://agency.example/rss", content_type="application/rss+xml; charset=utf-8")
    assert len(result.entries) == 1
    assert result.warnings  # the override is reported, not hidden


def test_entity_expansion_bomb_is_not_expanded():
    levels = "".join(
        f'<!ENTITY l{n} "{("&l%d;" % (n - 1)) * 10}">' for n in range(1, 9)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{levels}]>'
        '<rss version="2.0"><channel><title>t</title><item><title>&l8;</title><guid>x</guid></item></channel></rss>'
    ).encode()
    result = parse_feed(body, url="https://x.example/feed")
    assert all(len(e.title or "") < 1000 for e in result.entries)
