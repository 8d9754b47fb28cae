"""The static archive of past digests, its Atom feed and the iCalendar file of deadlines and events.

The site is plain files with relative links, so it reads from file:// as well as from any static
web server: `index.html` (weeks, newest first), one `<label>.<lang>.html` page per digest,
`feed.atom`, `calendar.ics`, and `entries.json` — the list of digests the index is built from, so a
run only has to pass the digests it just made.

An entry is a dict: label, lang, title, generated_at, window_start, window_end, item_count and,
for a digest rendered in this run, html (the page). `site_entry()` builds one from a Digest.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urljoin

import icalendar
import jinja2
from feedgen.feed import FeedGenerator

from spacedigest.reports.digest import TOKYO, Digest, DigestItem, _aware
from spacedigest.reports.render import SUMMARY_CHARS, TEMPLATES, format_date, render, safe_url, subject
from spacedigest.sources.i18n import strings
from spacedigest.sources.files import write_atomic
from spacedigest.sources.text import one_line, truncate

# Links of a digest page inside the site: relative, so the archive works without a server.
SITE_LINKS = {"archive": "index.html", "calendar": "calendar.ics", "atom": "feed.atom"}
MANIFEST = "entries.json"
FEED_FILE = "feed.atom"
CALENDAR_FILE = "calendar.ics"
SITE_TITLE = strings("ja")["site_title"]

_SAFE_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def page_name(label: str, lang: str) -> str:
    """The page file of one digest; labels come from Window and are checked so no path escapes."""
    if not _SAFE_LABEL.match(label or "") or lang not in ("ja", "en"):
        raise ValueError(f"invalid digest label or language: {label!r}, {lang!r}")
    return f"{label}.{lang}.html"


def site_entry(digest: Digest, *, html: str | None = None) -> dict:
    """The archive entry of a digest, with its page rendered with the site's relative links."""
    return {
        "label": digest.window.label,
        "lang": digest.lang,
        "title": subject(digest),
        "generated_at": _aware(digest.generated_at),
        "window_start": _aware(digest.window.start),
        "window_end": _aware(digest.window.end),
        "item_count": digest.item_count,
        "html": html if html is not None else render(digest, "html", links=SITE_LINKS),
    }


def _moment(value) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    return _aware(datetime.fromisoformat(str(value)))


def _normalise(entry: dict) -> dict:
    try:
        page_name(entry["label"], entry["lang"])
        return {
            "label": entry["label"],
            "lang": entry["lang"],
            "title": one_line(entry.get("title")) or entry["label"],
            "generated_at": _moment(entry["generated_at"]),
            "window_start": _moment(entry["window_start"]),
            "window_end": _moment(entry["window_end"]),
            "item_count": int(entry.get("item_count") or 0),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"invalid archive entry {entry.get('label')!r}: {exc}") from None


def _newest_first(entries: list[dict]) -> list[dict]:
    return sorted(entries, key=lambda e: (e["window_end"], e["label"], e["lang"] == "ja"), reverse=True)


def _load_manifest(folder: Path) -> dict[tuple[str, str], dict]:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {(r["label"], r["lang"]): _normalise(r) for r in rows}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OSError(f"cannot read archive list {path}: {exc}") from exc


def known_entries(folder: Path) -> list[dict]:
    """Every digest the archive lists, newest first."""
    return _newest_first(list(_load_manifest(Path(folder)).values()))


def write_site(folder: Path, entries: list[dict], *, feed: bytes | None = None,
               calendar_ics: bytes | None = None) -> Path:
    """Write the digest pages given (entries with html), merge them into the archive list and
    rewrite index.html; optionally write feed.atom and calendar.ics. Returns the index path."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create archive folder {folder}: {exc.strerror or exc}") from exc
    known = _load_manifest(folder)
    for entry in entries:
        row = _normalise(entry)
        if entry.get("html") is not None:
            write_atomic(folder / page_name(row["label"], row["lang"]), entry["html"].encode("utf-8"))
        known[(row["label"], row["lang"])] = row
    if feed is not None:
        write_atomic(folder / FEED_FILE, feed)
    if calendar_ics is not None:
        write_atomic(folder / CALENDAR_FILE, calendar_ics)
    rows = _newest_first(list(known.values()))
    manifest = [{**r, **{k: r[k].isoformat() for k in ("generated_at", "window_start", "window_end")}} for r in rows]
    write_atomic(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    index = folder / "index.html"
    write_atomic(index, _render_index(folder, rows).encode("utf-8"))
    return index


def _render_index(folder: Path, rows: list[dict]) -> str:
    weeks: dict[str, dict] = {}
    for row in rows:  # newest first; one line per window with its ja and en pages
        week = weeks.setdefault(row["label"], {
            "label": row["label"],
            "period_ja": _period_ja(row["window_start"], row["window_end"]),
            "pages": [],
        })
        name = page_name(row["label"], row["lang"])
        week["pages"].append({
            "lang": row["lang"],
            "name": strings(row["lang"])["language_name"],
            "href": name if (folder / name).exists() else None,
            "title": row["title"],
            "count": row["item_count"],
        })
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("site_index.html.j2").render(
        title=SITE_TITLE,
        weeks=list(weeks.values()),
        feed=FEED_FILE if (folder / FEED_FILE).exists() else None,
        calendar=CALENDAR_FILE if (folder / CALENDAR_FILE).exists() else None,
    )


def _inclusive_days(start: datetime, end: datetime) -> tuple[date, date]:
    """Days covered, inclusive: a window ending Monday 00:00 JST ends on Sunday."""
    first = start.astimezone(TOKYO).date()
    last_moment = end.astimezone(TOKYO)
    last = last_moment.date() - timedelta(days=1) if last_moment.time() == datetime.min.time() else last_moment.date()
    return first, max(first, last)


def _period_ja(start: datetime, end: datetime) -> str:
    first, last = _inclusive_days(start, end)
    return f"{format_date(first, 'ja')} 〜 {format_date(last, 'ja')}"


def _feed_summary(row: dict) -> str:
    n, lang = row["item_count"], row["lang"]
    if lang == "ja":
        period = _period_ja(row["window_start"], row["window_end"])
    else:
        first, last = _inclusive_days(row["window_start"], row["window_end"])
        period = f"{format_date(first, lang)} – {format_date(last, lang)}"
    return strings(lang)["feed_summary"].format(period=period, n=n, plural="" if n == 1 else "s")


def atom_feed(entries: list[dict], *, site_url: str) -> bytes:
    """Atom feed with one entry per digest (both languages), newest first, linking to its page."""
    base = site_url if site_url.endswith("/") else site_url + "/"
    rows = _newest_first([_normalise(e) for e in entries])
    fg = FeedGenerator()
    fg.id(base)
    fg.title(SITE_TITLE)
    fg.link(href=base, rel="alternate")
    fg.link(href=urljoin(base, FEED_FILE), rel="self")
    fg.language("ja")
    fg.updated(max((r["generated_at"] for r in rows), default=datetime(1970, 1, 1, tzinfo=timezone.utc)))
    for row in rows:
        url = urljoin(base, page_name(row["label"], row["lang"]))
        entry = fg.add_entry(order="append")
        entry.id(url)
        entry.title(row["title"])
        entry.link(href=url, rel="alternate")
        entry.updated(row["generated_at"])
        entry.published(row["generated_at"])
        entry.summary(_feed_summary(row))
    return fg.atom_str(pretty=True)


def _uid(kind: str, item_id: str) -> str:
    """Stable across runs: the same item's deadline keeps its UID, so calendars update in place."""
    return f"{kind}-{hashlib.sha256(item_id.encode('utf-8')).hexdigest()[:32]}@spacedigest"


def calendar(items: list[DigestItem], *, prodid: str = "-//spacedigest//EN", today: date | None = None) -> bytes:
    """iCalendar: one all-day VEVENT per open (or forthcoming) call's deadline, titled "締切: title",
    and one per event with a known day. With `today`, days already past are left out."""
    cal = icalendar.Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", strings("ja")["calendar_name"])
    cal.add("x-wr-timezone", "Asia/Tokyo")
    events: list[tuple[date, str, icalendar.Event]] = []
    for item in {i.id: i for i in items}.values():
        wanted = []
        if item.deadline is not None and item.deadline_kind != "rolling" and item.status in ("open", "forthcoming"):
            title = strings("ja")["calendar_deadline"].format(title=one_line(item.title))
            wanted.append(("deadline", item.deadline, item.deadline, title))
        if item.category == "event" and item.event_date is not None:
            last = max(item.event_end or item.event_date, item.event_date)
            wanted.append(("event", item.event_date, last, one_line(item.title)))
        for kind, day, last, summary in wanted:
            if today is not None and last < today:
                continue
            event = icalendar.Event()
            event.add("uid", _uid(kind, item.id))
            event.add("dtstamp", _aware(item.first_seen_at).astimezone(timezone.utc))
            event.add("dtstart", day)
            event.add("dtend", last + timedelta(days=1))
            event.add("summary", summary)
            event.add("transp", "TRANSPARENT")
            url = safe_url(item.url)
            details = [one_line(item.organisation)]
            if url:
                event.add("url", url)
                details.append(url)
            if item.summary:
                details.append(truncate(one_line(item.summary), SUMMARY_CHARS))
            event.add("description", "\n".join(details))
            event.add("categories", [item.category])
            events.append((day, event["uid"], event))
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        cal.add_component(event)
    return cal.to_ical()
