"""Feed bytes -> entries (RSS 0.9x/1.0/2.0, Atom), tolerant of the malformed feeds real sites serve.

Well-formed RSS/RDF/Atom documents are read by `sources.fastfeed` (lxml, same raw entries as
feedparser, ~20x less CPU); whatever it is not certain about goes to feedparser.

feedparser does the heavy lifting (encodings, bozo recovery, date formats). It is called with
HTML sanitizing and relative-URI resolution of embedded content turned off: the normalizer strips
summaries to plain text and canonicalizes links itself, and that roughly doubles parse speed.
Embedded markup therefore reaches `Entry.summary` unsanitized — it must only ever be read through
`sources.text.plain_text`.
"""
from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

from spacedigest.sources.dates import parse_datetime
from spacedigest.sources.encoding import to_utf8
from spacedigest.sources.kinds import BaseKind
from spacedigest.sources.models import Entry, ParseError, ParseResult, Source
from spacedigest.sources.normalize import canonical_url

# A gzip body is decompressed to at most this many bytes (a gzip bomb is refused, not expanded).
MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
# What a document starts with before its root element: BOM, whitespace, XML declaration,
# processing instructions, comments. The root tells a feed from an HTML page.
_PROLOGUE = re.compile(rb"^(?:\xef\xbb\xbf|\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DIGIT = re.compile(r"\d")
_HTML_START = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParseResult:
    """Entries of a feed document; ParseError (one-line reason) when the body is not a feed."""
    if not body or not body.strip():
        raise ParseError("empty response")
    if body[:2] == _GZIP_MAGIC:
        body = gunzip_capped(body, MAX_DECOMPRESSED_BYTES)
        if not body.strip():
            raise ParseError("empty response")
    if looks_like_html(body):
        raise ParseError("not a feed: got an HTML page")
    body = to_utf8(body, content_type)  # a Japanese feed in Shift_JIS that declares nothing

    # Imported here, not with the module: the process that fetches needs this kind's requests, not
    # its parser (0.12 s of imports, most of it feedparser's sanitizer); the parse pool preloads both.
    import feedparser

    from spacedigest.sources import fastfeed

    fast = fastfeed.parse(body, content_type)
    if fast is not None:
        channel, raw_entries, atom = fast
        return _result(channel, raw_entries, atom, url, [])

    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(
        body,
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    warnings = []
    if parsed.get("bozo"):
        warnings.append(f"malformed feed: {_reason(parsed.get('bozo_exception'))}")
    if not parsed.entries and not parsed.get("version"):
        raise ParseError(f"not a feed: {_reason(parsed.get('bozo_exception')) or 'no feed elements found'}")

    atom = (parsed.get("version") or "").startswith("atom")
    return _result(parsed.feed, parsed.entries, atom, url, warnings)


def _result(channel, raw_entries, atom: bool, url: str, warnings: list[str]) -> ParseResult:
    """feedparser-shaped channel and entries (from feedparser or the fast path) -> ParseResult."""
    return ParseResult(
        entries=tuple(_entry(raw, declared_types=atom) for raw in raw_entries),
        feed_title=channel.get("title") or None,
        feed_link=_channel_link(channel, url),
        warnings=tuple(warnings),
    )


def gunzip_capped(body: bytes, cap: int) -> bytes:
    """Decompress a gzip body, refusing to expand it past `cap` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, cap + 1)
    except zlib.error as exc:
        raise ParseError(f"corrupt gzip body: {exc}") from None
    if len(data) > cap or inflater.unconsumed_tail:
        raise ParseError(f"gzip body expands past {cap / (1024 * 1024):g} MB")
    if not inflater.eof:
        raise ParseError("corrupt gzip body: truncated stream")
    return data


def looks_like_html(body: bytes) -> bool:
    """True when the document's root is an HTML page (an error page, a login wall, a site's home)."""
    head = body[:4096]
    prologue = _PROLOGUE.match(head)
    return bool(_HTML_START.match(head, prologue.end() if prologue else 0))


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _channel_link(channel, url: str) -> str | None:
    """The channel's own site link, repaired ("www.esa.int/" -> https) and made absolute."""
    raw = channel.get("link") or _alternate_href(channel.get("links"))
    return canonical_url(raw, base=url) if raw else None


def _alternate_href(links) -> str | None:
    for link in links or ():
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            return link["href"]
    return None


def _markup(detail, value: str | None, declared_types: bool) -> str | None:
    """Entry text as markup. Atom declares text constructs as plain text: those are escaped so
    '<' in such a title stays text. RSS declares nothing (feedparser only guesses), and its titles
    are often HTML, so RSS text is always read as markup: '<script>' there is stripped, not shown."""
    if not value:
        return None
    if declared_types and detail and "html" not in (detail.get("type") or "text/html"):
        return html.escape(value, quote=False)
    return value


def _summary(raw, declared_types: bool) -> str | None:
    if raw.get("summary"):
        return _markup(raw.get("summary_detail"), raw["summary"], declared_types)
    for content in raw.get("content") or ():
        if content.get("value"):
            return _markup(content, content["value"], declared_types)
    return None


def _when(raw, key: str) -> datetime | None:
    """A date feedparser understood (struct_time in UTC), else one it could not read."""
    parsed = raw.get(f"{key}_parsed")
    if parsed:
        try:
            return datetime(*parsed[:6], tzinfo=timezone.utc)
        except (ValueError, OverflowError, TypeError):
            pass
    text = raw.get(key)
    return _date_from_text(text) if text and len(text) <= 200 else None


@lru_cache(maxsize=256)
def _date_from_text(text: str | None) -> datetime | None:
    """RFC 822 without a zone ("Wed, 27 Nov 2013 20:17:55", read as UTC), else any form
    sources.dates knows. Text without a digit ("No date found.") is no date: skipping it spares
    dateparser, which costs seconds on its first call."""
    if not text or not _DIGIT.search(text):
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is not None:
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    try:
        return parse_datetime(text)
    except (ValueError, OverflowError):
        return None


def _entry(raw, *, declared_types: bool) -> Entry:
    link = raw.get("link") or _alternate_href(raw.get("links"))
    guid = (raw.get("id") or "").strip() or None
    return Entry(
        title=_markup(raw.get("title_detail"), raw.get("title"), declared_types),
        link=link.strip() if link and link.strip() else None,
        guid=guid,
        summary=_summary(raw, declared_types),
        published=_when(raw, "published"),
        updated=_when(raw, "updated"),
    )




@dataclass(frozen=True)
class FeedOptions:
    """What an OPML import keeps about a feed (neither changes how it is read)."""

    site_url: str | None = None  # the site the feed belongs to (OPML htmlUrl)
    category: str | None = None  # the reader's folder it came from


class FeedKind(BaseKind):
    """RSS, RDF or Atom: one document per source."""

    name = "feed"
    options = FeedOptions

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        return parse_feed(body, url=url, content_type=content_type)


KIND = FeedKind()
