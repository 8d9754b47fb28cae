"""sources.fastfeed: the lxml fast path of parse_feed gives exactly what the feedparser path gives,
and hands everything it is not certain about to feedparser.

Each case parses the same bytes twice — once as shipped (fast path first), once with the fast path
switched off — and compares the whole ParseResult.
"""
from __future__ import annotations

import dataclasses
import gzip
from datetime import datetime, timezone

import pytest

from spacedigest.sources import fastfeed
from spacedigest.sources.feed import parse_feed
from spacedigest.sources.models import ParseError
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
URL = "https://agency.example.org/feed"
CONTENT_TYPES = [None, "application/rss+xml", "text/xml; charset=iso-8859-1"]


def outcome(body: bytes, content_type: str | None, url: str = URL):
    try:
        return dataclasses.asdict(parse_feed(body, url=url, content_type=content_type))
    except ParseError as exc:
        return ("ParseError", str(exc))


def both(monkeypatch, body: bytes, content_type: str | None = None, url: str = URL):
    """(result with the fast path, result from feedparser alone)."""
    fast = outcome(body, content_type, url)
    with monkeypatch.context() as m:
        m.setattr(fastfeed, "parse", lambda *args: None)
        slow = outcome(body, content_type, url)
    return fast, slow


def taken(body: bytes, content_type: str | None = None) -> bool:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return fastfeed.fallback_reason(body, content_type) is None


def rss(items: str, channel: str = "<title>Agency</title><link>https://agency.example.org/</link>") -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<channel>{channel}{items}</channel></rss>").encode()


def atom(entries: str, head: str = '<title>F</title><link href="https://f.example/"/><id>urn:f</id>') -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">{head}{entries}</feed>'.encode()


@pytest.mark.parametrize("name", ["reused_guid.xml", "changelog.xml", "jaxa_like.rdf", "empty_channel.atom", "no_ids.xml"])
@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_fixture_feeds_take_the_fast_path_with_identical_results(monkeypatch, name, content_type):
    body = (FEEDS / name).read_bytes()
    assert taken(body, content_type), fastfeed.fallback_reason(body, content_type)
    fast, slow = both(monkeypatch, body, content_type)
    assert fast == slow


def test_every_fixture_file_gives_identical_results(monkeypatch):
    files = [p for p in sorted(FIXTURES.rglob("*")) if p.is_file()]
    assert len(files) > 20
    for path in files:
        for content_type in CONTENT_TYPES:
            fast, slow = both(monkeypatch, path.read_bytes(), content_type)
            assert fast == slow, (path.name, content_type)


def test_real_corpus_identical_and_mostly_fast(monkeypatch, real_feeds):
    files = [p for p in sorted(real_feeds.rglob("*")) if p.is_file()]
    fast_count = 0
    for path in files:
        body = path.read_bytes()
        for content_type in CONTENT_TYPES:
            fast, slow = both(monkeypatch, body, content_type, url=f"http://127.0.0.1:8000/{path.name}")
            assert fast == slow, (path.name, content_type)
        if "/feed/" in str(path) and path.suffix != ".html" and taken(body):
            fast_count += 1
    assert fast_count >= 20  # of the 37 feed files; the rest fall back for a stated reason


def test_bench_feeds_identical_and_fast(monkeypatch):
    from bench.server import generated_feed

    for n in range(6):
        body = generated_feed(n)
        assert taken(body), fastfeed.fallback_reason(body, None)
        fast, slow = both(monkeypatch, body, "application/rss+xml")
        assert fast == slow
        assert len(fast["entries"]) >= 20


SEMANTIC_CASES = {
    # first non-empty title wins; an empty one before it is replaced
    "titles": rss("<item><title> </title><title>Second</title><title>Third</title></item>"),
    # a permalink guid is the link only when there is none yet; isPermaLink is case-sensitive
    "guid-link": rss("<item><guid>https://a.example/g</guid><link>https://a.example/l</link></item>"
                     "<item><guid isPermaLink='True'>https://a.example/T</guid></item>"
                     "<item><guid isPermaLink='false'>tag:x</guid></item>"),
    # content:encoded fills a missing summary; description wins when both are present
    "summaries": rss("<item><content:encoded><![CDATA[<p>enc</p>]]></content:encoded></item>"
                     "<item><content:encoded>e</content:encoded><description>d</description></item>"
                     "<item><description></description><content:encoded>only</content:encoded></item>"),
    # dc:date is "updated"; with only pubDate, updated answers with the published date
    "dates": rss("<item><dc:date>2024-11-05T06:00:00+09:00</dc:date></item>"
                 "<item><pubDate>Tue, 05 Nov 2024 10:00:00 GMT</pubDate></item>"
                 "<item><pubDate>Wed, 27 Nov 2013 20:17:55</pubDate></item>"
                 "<item><pubDate>No date found.</pubDate></item>"),
    # links: &amp; and entity-like runs are rewritten as feedparser does; atom:link alternates
    "links": rss("<item><link>https://a.example/?a=1&amp;b=2&amp;c;d</link></item>"
                 "<item><atom:link rel='self' href='https://a.example/self'/></item>"
                 "<item><atom:link href='https://a.example/alt'/><link>https://a.example/text</link></item>"),
    # mojibake and C1 controls are repaired exactly like feedparser does
    "text-repair": rss("<item><title>CafÃ© &#150; x</title></item>"),
    "atom-types": atom('<entry><title type="text">a &lt;b&gt;</title><summary type="html">&lt;p&gt;s&lt;/p&gt;</summary>'
                       '<id>urn:1</id><updated>2024-11-01T09:00:00+09:00</updated></entry>'
                       '<entry><title type="html">h &lt;em&gt;x&lt;/em&gt;</title><content>c &lt; d</content>'
                       '<id>https://f.example/id-is-link</id><link rel="self" href="https://f.example/s"/></entry>'),
    "atom-feed-id-before-link": atom("<entry><title>x</title></entry>", head='<id>https://f.example/id</id><title>F</title>'),
    "channel-title-after-items": rss("<item><title>i</title></item><title>Late</title>", channel=""),
    # an RSS <source> makes feedparser forget the title depth: the next title replaces the first
    "rss-source": rss("<item><title>First</title><source url='https://s.example/'>S</source><title>Again</title></item>"),
    # unknown elements inside an author (Blogger's gd:image) are harmless
    "author-extension": atom('<entry xmlns:gd="http://schemas.google.com/g/2005"><title>x</title>'
                             '<author><name>N</name><gd:image src="https://i.example/a.png"/></author></entry>'),
}


@pytest.mark.parametrize("case", SEMANTIC_CASES)
def test_feedparser_semantics_are_reproduced_on_the_fast_path(monkeypatch, case):
    body = SEMANTIC_CASES[case]
    assert taken(body), fastfeed.fallback_reason(body, None)
    fast, slow = both(monkeypatch, body)
    assert fast == slow


def test_dates_are_read_like_feedparser():
    result = parse_feed(SEMANTIC_CASES["dates"], url=URL)
    first, second, third, fourth = result.entries
    assert first.updated == datetime(2024, 11, 4, 21, 0, tzinfo=timezone.utc) and first.published is None
    assert second.published == second.updated == datetime(2024, 11, 5, 10, 0, tzinfo=timezone.utc)
    assert third.published == datetime(2013, 11, 27, 20, 17, 55, tzinfo=timezone.utc)  # zone-less: UTC
    assert fourth.published is None


FALLBACK_CASES = {
    "not-well-formed": (rss("<item><title>a & b</title></item>"), "not well-formed"),
    "doctype": (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss><channel><title>&a;</title></channel></rss>',
                "DOCTYPE"),
    "xml-base": (atom('<entry xml:base="https://b.example/"><title>x</title><link href="p"/></entry>'), "base"),
    "atom-xhtml": (atom('<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></title></entry>'),
                   "type"),
    "markup-in-title": (rss("<item><title>a <b>b</b></title></item>"), "markup"),
    "second-description": (rss("<item><description>a</description><description>b</description></item>"), "second"),
    "atom-source": (atom("<entry><title>x</title><source><title>Other</title></source></entry>"), "source"),
    "undeclared-prefix": (b"<rss><channel><item><foo:bar>x</foo:bar></item></channel></rss>", "not well-formed"),
    "unknown-root": (b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', "root"),
    "atom-03": (b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>a</title></feed>', "root"),
}


@pytest.mark.parametrize("case", FALLBACK_CASES)
def test_uncertain_documents_fall_back_to_feedparser(monkeypatch, case):
    body, reason = FALLBACK_CASES[case]
    why = fastfeed.fallback_reason(body, None)
    assert why is not None and reason in why, why
    assert fastfeed.parse(body, None) is None
    fast, slow = both(monkeypatch, body)
    assert fast == slow


@pytest.mark.parametrize("content_type", ["text/html", "application/json", "text/plain"])
def test_non_xml_content_type_falls_back(monkeypatch, content_type):
    body = rss("<item><title>x</title></item>")
    assert "encoding" in fastfeed.fallback_reason(body, content_type)
    fast, slow = both(monkeypatch, body, content_type)
    assert fast == slow and fast["warnings"]


def test_encoding_feedparser_overrides_falls_back(monkeypatch):
    body = rss("<item><title>Новости</title></item>").decode().encode("windows-1251")  # declared utf-8
    assert fastfeed.fallback_reason(body, None) is not None
    fast, slow = both(monkeypatch, body)
    assert fast == slow and fast["warnings"]


@pytest.mark.parametrize("encoding", ["windows-1251", "iso-8859-1", "shift_jis", "euc-jp"])
def test_declared_legacy_encodings_take_the_fast_path(monkeypatch, encoding):
    text = {"windows-1251": "Новости", "iso-8859-1": "Données été", "shift_jis": "宇宙ビジネス", "euc-jp": "宇宙ビジネス"}[encoding]
    body = rss(f"<item><title>{text}</title></item>").decode().replace("utf-8", encoding).encode(encoding)
    assert taken(body)
    fast, slow = both(monkeypatch, body)
    assert fast == slow and fast["entries"][0]["title"] == text


def test_fast_path_never_resolves_entities_or_reads_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
            "<rss><channel><title>&x;</title></channel></rss>").encode()
    assert fastfeed.parse(body, None) is None  # a DTD: feedparser's business
    levels = "".join(f'<!ENTITY l{n} "{("&l%d;" % (n - 1)) * 10}">' for n in range(1, 9))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{levels}]>'
            "<rss><channel><item><title>&l8;</title></item></channel></rss>").encode()
    assert fastfeed.parse(bomb, None) is None
    assert "TOP-SECRET" not in str(parse_feed(body, url=URL))
