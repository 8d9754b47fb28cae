"""Parsed entries -> Announcements: canonical links, plain text, UTC dates and a stable identity.

Everything here treats its input as hostile: markup is reduced to text (never passed through),
only http(s) links survive, control characters are dropped and lengths are capped.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

from spacedigest.sources.models import Announcement, Entry, ParseResult, Source
from spacedigest.sources.text import plain_text, strip_invisible, truncate

TITLE_MAX_CHARS = 300
SUMMARY_MAX_CHARS = 600
DETAIL_MAX_CHARS = 8000  # a listing row and an item page: what the classifier reads beyond the summary
UNTITLED = "(untitled)"
# Dates further ahead than this are typos or placeholders, not announcements from the future.
FUTURE_TOLERANCE = timedelta(days=2)
# Before this, a date is an epoch-zero placeholder (1970-01-01) rather than a real publication.
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=timezone.utc)

# ---------------------------------------------------------------------------------------------
# URLs

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "hsctatracking", "ref", "ref_src", "xtor",
    "at_medium", "at_campaign", "at_source", "at_content", "at_term", "at_platform",
    "_ga", "_gl", "oly_enc_id", "oly_anon_id", "vero_id", "wt.mc_id", "mkt_tok",
})
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Browsers drop ASCII tab/newline anywhere in a URL and C0 controls/space at its ends; so do we,
# so that "java\tscript:" is recognised for what it is.
_URL_JUNK = re.compile(r"[\x00-\x1f\x7f]")
# A scheme-less absolute link: "www.esa.int/x" or "esa.int/x" (a host followed by a path).
_HOST_LIKE = re.compile(r"^(?:www\d*\.[^/?#\s]+|(?:[a-z0-9\-]+\.)+[a-z]{2,24}(?::\d+)?(?=/))", re.IGNORECASE)
# ... but "index.html/x" or "page.php/x" is a relative path, not a host.
_FILE_SUFFIXES = frozenset({"html", "htm", "xhtml", "php", "asp", "aspx", "jsp", "cgi", "pl", "shtml",
                            "xml", "rss", "atom", "json", "txt", "pdf", "cfm", "do", "action"})
# Characters left as they are when percent-encoding a path or query (existing escapes stay).
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URL in canonical form, or None when the link is unusable or unsafe.

    Relative links are resolved against `base`; "www.host/x" and "//host/x" become https; scheme
    and host are lower-cased, default ports, fragments and tracking parameters dropped; other
    query parameters keep their order and encoding.
    """
    if not url:
        return None
    url = _URL_JUNK.sub("", url).strip()
    if not url:
        return None
    url = _repair_scheme(url)
    scheme = _SCHEME.match(url)
    if not scheme:
        absolute_base = canonical_url(base) if base else None
        if not absolute_base:
            return None
        url = urljoin(absolute_base, url)
    elif scheme.group(1).lower() not in DEFAULT_PORTS:
        return None  # javascript:, data:, vbscript:, mailto:, ftp:, ...
    return _canonical_absolute(url)


def _repair_scheme(url: str) -> str:
    if url.startswith("//"):
        return "https:" + url
    if _SCHEME.match(url) and not url.lower().startswith("www."):
        return url
    host = _HOST_LIKE.match(url)
    if host and host.group(0).rsplit(".", 1)[-1].split(":")[0].lower() not in _FILE_SUFFIXES:
        return "https://" + url
    return url


def _canonical_absolute(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if any(c.isspace() for c in host):
        return None
    netloc = host
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    query = _strip_tracking(parts.query)
    return urlunsplit((scheme, netloc, path, quote(query, safe=_SAFE_QUERY), ""))


def _strip_tracking(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
            continue
        kept.append(pair)
    return "&".join(kept)


# ---------------------------------------------------------------------------------------------
# Text

class _PunctuationToSpace(dict):
    """A str.translate table turning every Unicode punctuation character into a space, filled
    lazily per character met (fast after the first few titles, exact for every plane)."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        value = " " if unicodedata.category(char).startswith("P") else char
        self[codepoint] = value
        return value


_PUNCTUATION = _PunctuationToSpace()


def title_key(title: str) -> str:
    """A title folded for duplicate detection: NFKC, case-folded, punctuation dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", title or "").casefold()
    return " ".join(folded.translate(_PUNCTUATION).split())


# ---------------------------------------------------------------------------------------------
# Announcements


def normalize(
    result: ParseResult, source: Source, *, fetched_at: datetime, base_url: str | None = None
) -> list[Announcement]:
    """One Announcement per distinct entry; identity never depends on the entry's position."""
    base = canonical_url(result.feed_link, base_url) if result.feed_link else None
    base = base or canonical_url(base_url)
    fetched_at = _utc(fetched_at)

    drafts = [_draft(entry, base) for entry in result.entries]
    drafts = [d for d in drafts if d is not None]
    variants_per_guid: dict[str, set] = {}
    for d in drafts:
        if d.guid:
            variants_per_guid.setdefault(d.guid, set()).add((d.url, d.title))
    guidless_links = Counter(d.url for d in drafts if not d.guid and d.url)

    chosen: dict[tuple, _Draft] = {}  # insertion order = document order
    for d in drafts:
        if d.guid:
            reused = len(variants_per_guid[d.guid]) > 1
            parts = ("guid", d.guid, d.url or "", d.title) if reused else ("guid", d.guid)
        elif d.url:
            shared = guidless_links[d.url] > 1
            parts = ("link", d.url, d.title) if shared else ("link", d.url)
        else:
            day = d.stated_date.date().isoformat() if d.stated_date else ""
            parts = ("title", d.title, day)
        d.entry_key = _digest(source.id, *parts)
        # The same entry listed twice in one document is one announcement; keep the newest
        # date so the choice does not depend on the order of the list.
        same = (d.entry_key, d.title, d.url)
        kept = chosen.get(same)
        if kept is None or _newer(d.stated_date, kept.stated_date):
            chosen[same] = d

    announcements = []
    for d in chosen.values():
        published_at, estimated = _publication_time(d.stated_date, fetched_at)
        announcements.append(Announcement(
            source_id=source.id,
            organisation=source.organisation,
            entry_key=d.entry_key,
            title=d.title,
            url=d.url,
            guid=d.guid,
            summary=d.summary,
            published_at=published_at,
            published_estimated=estimated,
            language=language_of(d.title, d.summary, source.language),
            # The estimated date (fetch time) changes on every fetch; it is not an edit.
            content_hash=_digest(d.title, d.summary, d.url or "", "" if estimated else published_at.isoformat()),
            detail_text=_plain_detail(d.entry.detail_text),
            stated=d.entry.stated,
        ))
    return announcements


def _plain_detail(text: str | None) -> str | None:
    """The parsers' extra text (already text, lines kept for the classifier), controls dropped, capped."""
    text = strip_invisible(text or "").strip()
    return text[:DETAIL_MAX_CHARS] or None


class _Draft:
    __slots__ = ("entry", "guid", "url", "title", "summary", "stated_date", "entry_key")

    def __init__(self, entry, guid, url, title, summary, stated_date):
        self.entry, self.guid, self.url, self.title = entry, guid, url, title
        self.summary, self.stated_date = summary, stated_date
        self.entry_key = ""


def _newer(candidate: datetime | None, kept: datetime | None) -> bool:
    return candidate is not None and (kept is None or candidate > kept)


def _draft(entry: Entry, base: str | None) -> _Draft | None:
    guid = _URL_JUNK.sub("", entry.guid or "").strip() or None
    url = canonical_url(entry.link, base)
    summary = plain_text(entry.summary, max_chars=SUMMARY_MAX_CHARS)
    title = plain_text(entry.title, max_chars=TITLE_MAX_CHARS)
    if not title and not (summary or url or guid):
        return None  # nothing to show and nothing to identify it by
    title = title or truncate(summary, 80) or url or UNTITLED
    stated = entry.published or entry.updated
    return _Draft(entry, guid, url, title, summary, _utc(stated) if stated else None)


def _publication_time(stated: datetime | None, fetched_at: datetime) -> tuple[datetime, bool]:
    if stated is None or stated < EARLIEST_PLAUSIBLE or stated > fetched_at + FUTURE_TOLERANCE:
        return fetched_at, True
    return stated, False


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


_KANA = re.compile(r"[\u3040-\u30ff]")


def language_of(title: str, summary: str, declared: str) -> str:
    """The source's language, unless the text is plainly Japanese (kana) in a source that says
    otherwise: mixed feeds (a partner's Japanese page in an English feed) exist."""
    if declared != "ja" and _KANA.search(title or "") or (not title and _KANA.search(summary or "")):
        return "ja"
    return declared
