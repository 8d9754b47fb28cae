"""The typed records that flow between the stages.

catalog (Source) -> retrieve (Fetched) -> parse (Entry) -> normalize/classify (Announcement)

Every record is a plain dataclass so each stage can be tested without Prefect,
a network or a database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class SourceError(Exception):
    """A problem with one source that must be reported in one line, never as a traceback.

    The message is the reason only; callers prefix the source id and URL.
    """


class ParseError(SourceError):
    """The body was fetched but could not be turned into entries."""


@dataclass(frozen=True)
class Source:
    """One catalog entry."""

    id: str
    organisation: str
    kind: str  # feed | html | json
    url: str
    language: str = "en"
    enabled: bool = True
    name: str = ""
    country: str = ""
    # How often the source is expected to publish; no new item for longer marks it "stale".
    expected_period_days: int = 30
    # Kind-specific keys from the catalog (selectors, date format, api flavour, ...).
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Validators:
    """What a conditional GET sends back: stored per source, updated only on a 200."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Fetched:
    """The outcome of one HTTP attempt on one source (one `fetches` row)."""

    source_id: str
    url: str  # the URL asked for
    status: str  # ok | not_modified | error | skipped
    fetched_at: datetime  # aware, UTC
    final_url: str | None = None  # after redirects
    http_status: int | None = None
    content_type: str | None = None
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # new URL when a 301/308 was followed
    error: str | None = None  # one line: the reason
    duration_s: float = 0.0
    bytes: int = 0
    attempts: int = 1
    # Response headers a parser may need (pagination: X-WP-TotalPages, Link), lower-case names.
    headers: dict[str, str] = field(default_factory=dict)
    capture: str | None = None  # content address of the stored body (warehouse.captures)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not_modified")


@dataclass
class Entry:
    """One entry as a parser found it, before normalization (text may still hold HTML)."""

    title: str | None = None
    link: str | None = None
    guid: str | None = None
    summary: str | None = None  # HTML or text
    published: datetime | None = None  # aware
    updated: datetime | None = None  # aware
    # Free text the classifier may read for deadlines/status (detail page text, "Closing date: ...").
    detail_text: str | None = None
    opening_date: date | None = None
    deadline: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParseResult:
    entries: list[Entry]
    feed_title: str | None = None
    feed_link: str | None = None  # the channel's own link, used to resolve relative URLs
    warnings: list[str] = field(default_factory=list)


@dataclass
class Announcement:
    """One normalized announcement from one source: what the warehouse loads."""

    source_id: str
    organisation: str
    entry_key: str  # stable identity within the source (never list position)
    title: str
    url: str | None
    guid: str | None
    summary: str
    published_at: datetime  # aware, UTC
    published_estimated: bool  # True when the source gave no date (first-seen time used)
    language: str
    content_hash: str
    # Enrichment (sources.classify); defaults mean "not classified".
    category: str = "other"
    category_rule: str | None = None
    deadline: date | None = None
    deadline_kind: str = "none"  # date | rolling | none
    opening_date: date | None = None
    status: str = "unknown"  # open | forthcoming | closed | unknown
    japan_relevant: bool = False
    japan_reason: str | None = None
