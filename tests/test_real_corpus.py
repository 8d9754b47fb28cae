"""The real captured corpus (../shared/real-feeds/sismics-reader/feed/) must ingest.

Every file from which feedparser yields entries parses and normalizes; distinct entries stay
distinct (only verbatim repeats inside one document collapse); the HTML error pages are errors.
"""
from __future__ import annotations

import gzip
from datetime import datetime, timezone

import feedparser
import pytest

from spacedigest.sources.feed import parse_feed
from spacedigest.sources.models import ParseError, Source
from spacedigest.sources.normalize import normalize

FETCHED_AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def feed_files(corpus):
    return sorted(p for p in (corpus / "feed").iterdir() if p.is_file())


def reference_count(body: bytes) -> tuple[int, int]:
    """feedparser's own entry count (default settings), and its count of distinct entries
    (entries repeated verbatim — same id, link and title — count once)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    entries = feedparser.parse(body).entries
    return len(entries), len({(e.get("id"), e.get("link"), e.get("title")) for e in entries})


def ingest(path):
    source = Source(id=path.stem, organisation="Corpus", kind="feed", url=f"http://127.0.0.1:8000/{path.name}")
    result = parse_feed(path.read_bytes(), url=source.url, content_type=None)
    return result, normalize(result, source, fetched_at=FETCHED_AT, base_url=source.url)


def test_every_feed_of_the_corpus_ingests(real_feeds):
    table = []
    for path in feed_files(real_feeds):
        body = path.read_bytes()
        found, distinct = reference_count(body)
        if not found:
            continue
        result, items = ingest(path)
        assert len(result.entries) == found, path.name
        assert len(items) == distinct, path.name
        assert len({i.entry_key for i in items}) == len(items), path.name
        # The same (url, title) twice would be one announcement to a reader.
        assert len({(i.url, i.title) for i in items}) == len(items), path.name
        # A URL for every (distinct) entry that had a link.
        linked = len({(e.guid, e.link, e.title) for e in result.entries if e.link})
        assert sum(1 for i in items if i.url) == linked, path.name
        for item in items:
            assert item.title and item.published_at.tzinfo is not None, path.name
            assert item.url is None or item.url.startswith(("http://", "https://")), path.name
            assert "<script" not in item.summary.lower() and "<script" not in item.title.lower()
        table.append((path.name, found, len(items)))
    print("\nfile                                  feedparser  announcements")
    for name, found, kept in table:
        print(f"{name:38} {found:10} {kept:14}")
    print(f"{'total':38} {sum(t[1] for t in table):10} {sum(t[2] for t in table):14}")
    assert len(table) == 37


@pytest.mark.parametrize("name", ["feed_error_lemessager.html", "feed_error_toomanyfatalerror.html"])
def test_html_error_pages_are_reported_as_not_a_feed(real_feeds, name):
    with pytest.raises(ParseError, match="not a feed: got an HTML page"):
        parse_feed((real_feeds / "feed" / name).read_bytes(), url=f"http://127.0.0.1:8000/{name}")


def test_known_corpus_cases(real_feeds):
    feeds = real_feeds / "feed"
    # ESA: a bare '&' (malformed) and a channel link without a scheme.
    result, items = ingest(feeds / "feed_rss2_esa.xml")
    assert result.feed_link == "https://www.esa.int/" and result.warnings
    assert len(items) == 18
    # Slackware's changelog: 17 entries, one shared link, all distinct.
    _, items = ingest(feeds / "feed_rss2_slackware.xml")
    assert len(items) == 17 and len({i.url for i in items}) == 1
    # NOVA lists one programme twice (same guid, link, title): one announcement, newest airing.
    _, items = ingest(feeds / "feed_rss2_nova.xml")
    assert len(items) == 34
    (tower,) = [i for i in items if i.title == "Ground Zero Supertower"]
    assert tower.published_at.date().isoformat() == "2013-09-11"
    # developerWorks: one entry with an empty link is kept, without a URL.
    _, items = ingest(feeds / "feed_rss2_developerworks.xml")
    assert len(items) == 100 and sum(1 for i in items if i.url is None) == 1
    # Gizmodo's body is raw gzip.
    _, items = ingest(feeds / "feed_rss2_gizmodo.gzip")
    assert len(items) == 25
    # APOD has no dates at all: first-seen time, marked as estimated.
    _, items = ingest(feeds / "feed_rss2_apod.xml")
    assert all(i.published_estimated and i.published_at == FETCHED_AT for i in items)
    # Maliki's RFC 822 dates lack a zone (feedparser gives up); read as UTC with their time.
    _, items = ingest(feeds / "feed_rss2_maliki.xml")
    assert items[0].published_at == datetime(2013, 11, 27, 20, 17, 55, tzinfo=timezone.utc)
    # windows-1251 declared in the document.
    _, items = ingest(feeds / "feed_rss2_ibox.xml")
    assert items[0].title == "Роналдо не спира да бележи, Реал набира скорост"
