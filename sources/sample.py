"""The sample week behind `spacedigest demo`: partner-style sites, their catalog and two subscribers.

Everything lives as files in `sample_week/` beside this module (installed with the package):

- `site/`: what the partners publish, as templates — ESA-like RSS feeds, a CNES-like French Atom
  feed, a JAXA-like Japanese RDF feed, a Cross U-like HTML listing page and a Harwell-like WordPress
  JSON API. The path of a file under `site/` (without `.j2`) is its path on the sample site.
- `catalog.toml.j2`: the catalog pointing at the sample site (`{{ base_url }}`).
- `subscribers.csv`: the two sample subscribers (ja, en), in the import format.

The sample is written relative to the day the demo runs, so the digest window always holds it:
`{{ day(-2) | rfc822 }}` is two days ago as an RSS pubDate, `{{ day(21) | ja }}` three weeks ahead
as a Japanese site writes it (2025年6月30日). `extended` is false for the first capture and true for
the second, a few seconds later in the same demo: a template may move a deadline with it
(`{{ day(35 if extended else 21) | en }}`), which the warehouse records as a deadline extension.

Pure: a day, a base URL and a capture in, bytes out; no clock, no network.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

SAMPLE_DIR = Path(__file__).resolve().with_name("sample_week")
SITE_DIR = SAMPLE_DIR / "site"

# What each kind of file is served as (the real sites' types).
CONTENT_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre")
_WEEKDAYS_JA = "月火水木金土日"


@dataclass(frozen=True)
class Page:
    """One resource of the sample site."""

    path: str  # URL path, "/esa/rssfeed/business.xml"
    body: bytes
    content_type: str


# ---------------------------------------------------------------- dates as the sites write them

def _moment(day: date, at: str, tz: str) -> datetime:
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz))


def rfc822(day: date, at: str = "09:00", tz: str = "UTC") -> str:
    """RSS pubDate: "Tue, 03 Jun 2025 09:00:00 +0000"."""
    return format_datetime(_moment(day, at, tz))


def iso(day: date, at: str = "09:00", tz: str = "UTC") -> str:
    """Atom, RDF (dc:date) and JSON-LD: "2025-06-03T09:00:00+09:00" ("Z" in UTC)."""
    text = _moment(day, at, tz).isoformat()
    return text.replace("+00:00", "Z")


def wp_gmt(day: date, at: str = "09:00") -> str:
    """WordPress REST `date_gmt`: UTC without an offset, "2025-06-03T09:00:00"."""
    return _moment(day, at, "UTC").astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def en(day: date) -> str:
    """ "3 June 2025" """
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def fr(day: date) -> str:
    """ "3 juin 2025" ("1er juin 2025" on the first, as French sites write it)."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {_MONTHS_FR[day.month - 1]} {day.year}"


def ja(day: date, weekday: bool = False) -> str:
    """ "2025年6月3日", with `weekday` "2025年6月3日（火）". """
    text = f"{day.year}年{day.month}月{day.day}日"
    return text + f"（{_WEEKDAYS_JA[day.weekday()]}）" if weekday else text


def dmy(day: date) -> str:
    """ "03/06/2025" (day first, as ESA's and CNES's pages write it)."""
    return day.strftime("%d/%m/%Y")


FILTERS = {"rfc822": rfc822, "iso": iso, "wp_gmt": wp_gmt, "en": en, "fr": fr, "ja": ja, "dmy": dmy}


# ---------------------------------------------------------------- rendering

def _environment() -> jinja2.Environment:
    # The templates are the sites' own bytes (feeds, pages, JSON): nothing is escaped for them.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(SAMPLE_DIR)), autoescape=False,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    return env


def _context(today: date, extended: bool) -> dict:
    return {"today": today, "day": lambda offset: today + timedelta(days=offset), "extended": extended}


def site_paths() -> list[str]:
    """The templates of the sample site, relative to `sample_week/` ("site/esa/...xml.j2")."""
    return sorted(p.relative_to(SAMPLE_DIR).as_posix() for p in SITE_DIR.rglob("*.j2"))


def render_site(today: date, *, extended: bool = False) -> dict[str, Page]:
    """Every page of the sample site as published on `today` (the first capture, or with
    `extended` the second), by URL path."""
    env = _environment()
    context = _context(today, extended)
    pages: dict[str, Page] = {}
    for name in site_paths():
        path = "/" + name.removeprefix("site/").removesuffix(".j2")
        suffix = Path(path).suffix
        body = env.get_template(name).render(context).encode("utf-8")
        pages[path] = Page(path, body, CONTENT_TYPES.get(suffix, "application/octet-stream"))
    return pages


def render_catalog(base_url: str) -> str:
    """The catalog TOML of the sample sources, served from `base_url` ("http://127.0.0.1:PORT")."""
    return _environment().get_template("catalog.toml.j2").render(base_url=base_url.rstrip("/"))


def subscribers_csv() -> bytes:
    """The sample subscribers, in `spacedigest subscribers import` form."""
    return (SAMPLE_DIR / "subscribers.csv").read_bytes()
