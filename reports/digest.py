"""Which announcements go into a digest, and in which sections.

Pure functions: the caller (a flow) queries the warehouse and hands plain `DigestItem`
records in; nothing here touches a database, the network or the clock.

Selection rules (kept simple on purpose, see `select_items`):

* an item is news once: it is picked in the window in which it was first seen;
* backlog is not news: an item first seen in the window but published more than
  `backlog_days` before the window start is left out, unless it is a call that is still
  open (a newly added source often lists calls published weeks ago that one can still apply to);
* a call whose deadline changed is news again: the caller sets `deadline_changed` when
  `item_revisions` recorded a deadline change inside the window, and the item is picked
  even though it was first seen earlier;
* nothing else is repeated: an open call first seen in an earlier window does not come back
  every week (the calendar feed is where standing deadlines live).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from spacedigest.sources.i18n import CATEGORY_LABELS, LANGUAGES, category_label, section_title
from spacedigest.sources.classify import status_on
from spacedigest.sources.headline import Rates
from spacedigest.sources.models import DigestItem

TOKYO = ZoneInfo("Asia/Tokyo")
UTC = timezone.utc

__all__ = ["CATEGORY_LABELS", "DigestItem", "category_label", "select_items", "build_digest", "week_window",
           "window_since", "refresh_status"]

# Sections in reading order. First what a Japanese company can act on (open calls it may apply
# to), then calls closing soon, new calls, events, partnerships, news last; a call that has closed
# gets one short line at the very end, never a place among the new calls.
SECTION_ORDER = ("may_apply", "closing_soon", "new_calls", "events", "partnership", "news", "closed")
SECTION_OF_CATEGORY = {
    "funding": "new_calls",
    "tender": "new_calls",
    "incubation": "new_calls",
    "event": "events",
    "partnership": "partnership",
    "programme": "news",
    "other": "news",
}
# Sections shown one line per item.
COMPACT_SECTIONS = frozenset({"closed"})
CLOSING_SOON_DAYS = 30


@dataclass
class Window:
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    label: str  # filename-safe: "2024-W47" or "2024-11-18_0800"


@dataclass
class Section:
    key: str
    title: str
    items: list[DigestItem]


@dataclass
class Digest:
    window: Window
    lang: str
    sections: list[Section]
    generated_at: datetime
    item_count: int
    # Filled by build_digest so renderers need no clock: the JST day "days left" counts from.
    today: date | None = field(default=None)
    rates: Rates | None = None  # yen rates for the amounts (None: the built-in table)


def _aware(moment: datetime) -> datetime:
    """Treat a naive datetime as UTC (DuckDB TIMESTAMPTZ values always come back aware)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_ISO_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def week_window(iso_week: str) -> Window:
    """ISO week "YYYY-Www": Monday 00:00 to the next Monday 00:00, Asia/Tokyo."""
    match = _ISO_WEEK.match(iso_week or "")
    if not match:
        raise ValueError(f"invalid week {iso_week!r}: expected YYYY-Www, for example 2024-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        weeks = date(year, 12, 28).isocalendar().week  # 28 December is always in the last ISO week
        raise ValueError(f"invalid week {iso_week!r}: {year} has ISO weeks 01 to {weeks}") from None
    start = datetime.combine(monday, time(0), TOKYO)
    end = datetime.combine(monday + timedelta(days=7), time(0), TOKYO)
    return Window(start.astimezone(UTC), end.astimezone(UTC), f"{year}-W{week:02d}")


def window_since(previous_cutoff: datetime | None, now: datetime) -> Window:
    """From the previous digest's cutoff (first digest: the last 7 days) up to now.

    The label is the cutoff in JST to the minute, so a late or repeated run gets its own files.
    """
    end = _aware(now).astimezone(UTC)
    start = _aware(previous_cutoff).astimezone(UTC) if previous_cutoff is not None else end - timedelta(days=7)
    if start > end:
        raise ValueError(f"previous digest cutoff {start.isoformat()} is later than now ({end.isoformat()})")
    return Window(start, end, end.astimezone(TOKYO).strftime("%Y-%m-%d_%H%M"))


def alert_window(previous_cutoff: datetime | None, now: datetime) -> Window:
    """The daily alert's window: since the previous alert (first time: the last 24 hours)."""
    end = _aware(now).astimezone(UTC)
    start = _aware(previous_cutoff).astimezone(UTC) if previous_cutoff is not None else end - timedelta(days=1)
    return Window(min(start, end), end, "alert-" + end.astimezone(TOKYO).strftime("%Y-%m-%d_%H%M"))


def without(items: list[DigestItem], excluded) -> list[DigestItem]:
    """The items except those staff took out (`digest --exclude`)."""
    out = set(excluded or ())
    return [item for item in items if item.id not in out] if out else items


def jst_date(moment: datetime) -> date:
    return _aware(moment).astimezone(TOKYO).date()


# Calls a Japanese company may apply to: Japan named as eligible, or open to any country.
OPEN_TO_JAPAN = frozenset({"japan", "international"})
CALLS = frozenset({"funding", "tender", "incubation", "partnership"})


def may_apply(item: DigestItem) -> bool:
    """An open call a Japanese company may apply to (never a guess: unknown is not open to Japan)."""
    return item.category in CALLS and item.status == "open" and item.eligibility in OPEN_TO_JAPAN


def refresh_status(items: list[DigestItem], today: date) -> list[DigestItem]:
    """The items with their status for `today` (JST): a call loaded as open may have closed since."""
    return [replace(item, status=status_on(today, deadline=item.deadline, deadline_kind=item.deadline_kind,
                                           opening_date=item.opening_date, category=item.category))
            for item in items]


def _still_open(item: DigestItem, today: date) -> bool:
    if item.status != "open":
        return False
    return item.deadline_kind == "rolling" or item.deadline is None or item.deadline >= today


def select_items(
    items: list[DigestItem],
    window: Window,
    *,
    backlog_days: int = 30,
    organisations: list[str] | None = None,
    categories: list[str] | None = None,
    eligible_only: bool = False,
    today: date | None = None,
) -> list[DigestItem]:
    """The items that are news in `window` (rules in the module docstring), filtered.

    `organisations` match case-insensitively, `categories` by key; empty or None means all.
    `eligible_only`: only the open calls a Japanese company may apply to (`may_apply`).
    `today` (JST) decides whether a call is still open; default: the window end's JST date.
    """
    today = today or jst_date(window.end)
    oldest = window.start - timedelta(days=backlog_days)
    wanted_orgs = {o.strip().casefold() for o in organisations or [] if o.strip()}
    wanted_cats = {c.strip() for c in categories or [] if c.strip()}
    picked: list[DigestItem] = []
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            continue
        if wanted_orgs and item.organisation.casefold() not in wanted_orgs:
            continue
        if wanted_cats and item.category not in wanted_cats:
            continue
        if eligible_only and not may_apply(item):
            continue
        first_seen = _aware(item.first_seen_at)
        new_in_window = window.start <= first_seen < window.end
        recent = _aware(item.published_at) >= oldest
        if item.deadline_changed or (new_in_window and (recent or _still_open(item, today))):
            picked.append(item)
            seen.add(item.id)
    return picked


def section_of(item: DigestItem, today: date) -> str:
    """The section an item goes to on `today` (JST)."""
    if may_apply(item):
        return "may_apply"
    if item.status == "closed" and item.category in CALLS | {"event"}:
        return "closed"
    if is_closing_soon(item, today):
        return "closing_soon"
    return SECTION_OF_CATEGORY.get(item.category, "news")


def is_closing_soon(item: DigestItem, today: date) -> bool:
    """An open call closing within 30 days. An event's registration deadline does not make it a call:
    the event stays among the events (by the day it takes place), its fact line says the deadline."""
    if item.category not in CALLS:
        return False
    if item.status != "open" or item.deadline is None or item.deadline_kind == "rolling":
        return False
    return 0 <= (item.deadline - today).days <= CLOSING_SOON_DAYS


def _newest_first(item: DigestItem) -> tuple:
    return (-_aware(item.published_at).timestamp(), item.title, item.id)


def build_digest(
    items: list[DigestItem], window: Window, *, lang: str, generated_at: datetime, today: date | None = None,
    rates: Rates | None = None,
) -> Digest:
    """Group already selected items into sections (fixed order; empty sections left out).

    Each item goes to one section (`section_of`): an open call a Japanese company may apply to
    first (soonest deadline first), a closed call last, one line; then an open call closing within
    30 days of `today` (JST; default: generated_at's JST day); the rest by category, events by the
    day they take place, the others newest first.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported digest language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    generated_at = _aware(generated_at)
    today = today or jst_date(generated_at)
    unique: list[DigestItem] = []
    seen: set[str] = set()
    for item in items:  # the same item twice in the input is shown once
        if item.id not in seen:
            seen.add(item.id)
            unique.append(item)
    buckets: dict[str, list[DigestItem]] = {key: [] for key in SECTION_ORDER}
    for item in unique:
        buckets[section_of(item, today)].append(item)
    for key in ("may_apply", "closing_soon"):
        buckets[key].sort(key=lambda i: (i.deadline or date.max, _newest_first(i)))  # soonest deadline first
    buckets["events"].sort(key=lambda i: (i.event_date or date.max, _newest_first(i)))  # soonest day first
    for key in ("new_calls", "partnership", "news", "closed"):
        buckets[key].sort(key=_newest_first)
    sections = [
        Section(key, section_title(key, lang), buckets[key]) for key in SECTION_ORDER if buckets[key]
    ]
    return Digest(window, lang, sections, generated_at, len(unique), today, rates)
