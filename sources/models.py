"""The typed records the stages hand on: one per stage, frozen, carried forward (never looked up again).

    catalog (Source) -> retrieve (Request -> Fetched) -> parse (Entry, ParseResult)
      -> normalize (Announcement) -> classify (Announcement, enriched) -> load (warehouse)
      -> select (DigestItem) -> render -> deliver (Subscriber)

Every stage is a plain function over these records, so it can be tested without Prefect, a
network or a database. This module is the one model every package imports; it imports nothing of
the project.
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


# --- catalog and retrieval ----------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One catalog entry. `kind` names its adapter (sources.kinds); `options` are that kind's typed
    options, validated when the catalog is loaded."""

    id: str
    organisation: str
    kind: str  # feed | html | wordpress | eu-funding-tenders (catalog "json" + api resolves to one)
    url: str
    language: str = "en"
    enabled: bool = True
    name: str = ""
    country: str = ""
    # How often the source is expected to publish; no new item for longer marks it "stale".
    expected_period_days: int = 30
    # The zone of the source's date-only values ("18 March 2024" is midnight there).
    timezone: str = "UTC"
    # HTTP headers sent with every request for this source, whatever its kind (a site that refuses
    # unknown clients, or answers in the language of Accept-Language): (name, value) pairs.
    headers: tuple[tuple[str, str], ...] = ()
    options: Any = field(default=None, hash=False, compare=False)


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends back: stored per source, updated only on a 200."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Request:
    """One HTTP request a source kind asks for (an API may POST a query)."""

    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
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
    # Response headers a kind may need (pagination: X-WP-TotalPages, Link), lower-case names.
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not_modified")

    @property
    def where(self) -> str:
        """The URL the body came from: relative links resolve against it."""
        return self.final_url or self.url


# --- parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stated:
    """What a source states in its structure (API fields, JSON-LD, the parts of a page its catalog
    selectors point at), as opposed to its free text. Dates stated here win over what the
    classifier reads in the text; the marked texts are read by the classifier with its rules."""

    deadline: date | None = None
    opening_date: date | None = None
    event_date: date | None = None
    event_end: date | None = None
    deadline_text: str | None = None  # what a page marks as the deadline: "Ends in 12 days", "30/06/2024"
    opening_text: str | None = None
    event_text: str | None = None  # what a page marks as the event's date(s)


NOTHING_STATED = Stated()


@dataclass(frozen=True)
class Entry:
    """One entry as a parser found it, before normalization (text may still hold HTML)."""

    title: str | None = None
    link: str | None = None
    guid: str | None = None
    summary: str | None = None  # HTML or text
    published: datetime | None = None  # aware
    updated: datetime | None = None  # aware
    # Free text the classifier reads besides title and summary (a listing row, an item page, API facts).
    detail_text: str | None = None
    stated: Stated = NOTHING_STATED


@dataclass(frozen=True)
class ParseResult:
    entries: tuple[Entry, ...]
    feed_title: str | None = None
    feed_link: str | None = None  # the channel's own link, used to resolve relative URLs
    warnings: tuple[str, ...] = ()


# --- normalized and classified ------------------------------------------------------------------


@dataclass(frozen=True)
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
    # Carried from the entry for the classifier and kept with the item.
    detail_text: str | None = None
    stated: Stated = NOTHING_STATED
    # Enrichment (sources.classify); defaults mean "not classified".
    category: str = "other"
    category_rule: str | None = None
    deadline: date | None = None
    deadline_kind: str = "none"  # date | rolling | none
    opening_date: date | None = None
    status: str = "unknown"  # open | forthcoming | closed | unknown
    japan_relevant: bool = False
    japan_reason: str | None = None
    event_date: date | None = None  # an event's first day
    event_end: date | None = None  # and its last
    # May a Japanese company take part, how much, about what (sources.eligibility, sources.amounts, ...)
    eligibility: str = "unknown"  # japan | international | restricted | unknown
    eligibility_region: str | None = None  # "ESA Member States", "EU and associated countries", "UK", ...
    eligibility_reason: str | None = None  # "rule-id: the phrase that decided"
    amount_max: float | None = None  # the most one applicant can get, as stated
    amount_currency: str | None = None  # ISO 4217
    themes: tuple[str, ...] = ()  # Japanese theme tags
    headline_ja: str | None = None  # one Japanese fact line: what, who may apply, how much, by when
    served_by: str | None = None  # "fallback: announced feed <url>" when the source's own way failed


@dataclass(frozen=True)
class Fallback:
    """Another way to read a source's items, offered by its kind when the source fails."""

    source: Source  # the same id and organisation, another kind, URL or options
    how: str  # "announced feed https://…/feed/", "selectors derived from the page again (…)"


# --- what one source yielded in one run ---------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of a source in a run, as the fetch log records it. The fetched body stays
    in `fetched` until it is captured (content-addressed, `capture` is then its key)."""

    role: str  # listing | page | detail | primary (what a fallback replaced) | fallback | discover (finding it)
    fetched: Fetched
    capture: str | None = None


@dataclass(frozen=True)
class SourceResult:
    """What one source yielded in one run. `listing` is the attempt whose outcome is the source's
    (its validators, redirect and status); `others` are the further requests, logged too."""

    source: Source
    listing: Attempt
    announcements: tuple[Announcement, ...] = ()
    error: str | None = None  # fetch or parse error, one line, reason only
    others: tuple[Attempt, ...] = ()
    # When the source's own way failed and a fallback served its items: how ("fallback: announced
    # feed <url>") and why the own way failed (the alarm staff must still see).
    served_by: str | None = None
    primary_error: str | None = None
    seconds: float = 0.0  # how long collecting the source took (fetches, waits and parsing)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def fetched(self) -> Fetched:
        return self.listing.fetched

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        return (self.listing, *self.others)


# --- the warehouse's records, as the later stages read them -------------------------------------


@dataclass(frozen=True)
class DigestItem:
    """One item as a digest reads it (a row of `items` with the sources that carried it)."""

    id: str
    title: str
    url: str | None
    summary: str
    organisation: str
    source_ids: list[str]
    published_at: datetime  # aware
    first_seen_at: datetime  # aware
    category: str
    deadline: date | None
    deadline_kind: str  # date | rolling | none
    status: str  # open | forthcoming | closed | unknown (as loaded; the digest recomputes it for its day)
    japan_relevant: bool
    japan_reason: str | None
    published_estimated: bool = False
    opening_date: date | None = None
    # True when item_revisions recorded a deadline change inside the digest window.
    deadline_changed: bool = False
    previous_deadline: date | None = None
    language: str = "en"
    event_date: date | None = None
    event_end: date | None = None
    eligibility: str = "unknown"
    eligibility_region: str | None = None
    eligibility_reason: str | None = None
    amount_max: float | None = None
    amount_currency: str | None = None
    themes: list[str] = field(default_factory=list)
    headline_ja: str | None = None
    # Machine translations into Japanese (optional, reports.translate), shown marked as such.
    title_ja: str | None = None
    summary_ja: str | None = None


@dataclass(frozen=True)
class DigestRecord:
    """One row of `digests`."""

    id: int
    label: str
    window_start: datetime
    window_end: datetime
    created_at: datetime
    item_count: int
    paths: dict[str, dict[str, str]]
    release_at: datetime | None = None  # under review: members get it from then on
    held: bool = False  # staff said `spacedigest hold`
    excluded: list[str] = field(default_factory=list)  # item ids staff took out


@dataclass(frozen=True)
class Subscriber:
    """A confirmed address and what it asked for. `token` is never stored: a send mints one per message
    (its SHA-256 is kept in the journal), so a raw token only ever exists in the mail that carries it."""

    email: str
    name: str = ""
    language: str = "ja"
    organisations: list[str] = field(default_factory=list)  # empty: every organisation
    categories: list[str] = field(default_factory=list)  # empty: every category
    eligible_only: bool = False  # only the open calls a Japanese company may apply to
    token: str = ""  # the raw token of the message being built (links to unsubscribe and preferences)
    id: int | None = None
    active: bool = True
    company: str = ""
    frequency: str = "weekly"  # weekly | weekly+daily (also a short daily alert of new calls open to Japan)
    paused: bool = False  # no mail until the subscriber resumes

    @property
    def receiving(self) -> bool:
        return self.active and not self.paused
