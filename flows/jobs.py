"""The digest and send jobs: wiring between the warehouse and `reports`, no logic of their own.

Plain functions, so the CLI can call them without Prefect; `flows.weekly` wraps them as tasks.
"""
from __future__ import annotations

import json
from urllib.parse import urljoin

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from spacedigest.flows.settings import Settings
from spacedigest.warehouse import db, health, records
from spacedigest.warehouse.sql import statement


@dataclass
class DigestReport:
    label: str
    digest_id: int
    item_count: int
    paths: dict[str, dict[str, str]]
    window_start: datetime
    window_end: datetime


@dataclass
class SendReport:
    label: str
    sent: int = 0
    skipped: int = 0  # already delivered
    rejected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # temporary: retried by the next send
    dry_run: bool = False


def _digest_items(rows: list[dict], today):
    """Warehouse rows -> digest items, with the status recomputed for `today` (JST): a call
    loaded as open may have closed since."""
    from spacedigest.reports.digest import DigestItem
    from spacedigest.sources.classify import status_on

    items = []
    for row in rows:
        row["status"] = status_on(today, deadline=row["deadline"], deadline_kind=row["deadline_kind"],
                                  opening_date=row["opening_date"], category=row["category"])
        items.append(DigestItem(**row))
    return items


def build_digest(settings: Settings, *, week: str | None = None, langs: tuple[str, ...] = ("ja", "en"),
                 now: datetime | None = None) -> DigestReport:
    """Select, render (md/html/txt per language), write the files and the archive, record the digest."""
    from spacedigest.reports import archive, digest as dg, render

    now = now or datetime.now(timezone.utc)
    with db.writer(settings.home) as con:
        window = dg.week_window(week) if week else dg.window_since(records.previous_cutoff(con), now)
        candidates = _digest_items(records.digest_candidates(con, window.start, window.end), dg.jst_date(window.end))
        items = dg.select_items(candidates, window)
        paths: dict[str, dict[str, str]] = {}
        site_entries = []
        for lang in langs:
            digest = dg.build_digest(items, window, lang=lang, generated_at=now)
            renders = {fmt: render.render(digest, fmt, links=REPORT_LINKS) for fmt in ("md", "html", "txt")}
            written = render.write_reports(settings.reports_dir, digest, renders)
            paths[lang] = {fmt: str(p) for fmt, p in written.items()}
            site_entries.append(archive.site_entry(digest))
        digest_id = records.record_digest(con, label=window.label, start=window.start, end=window.end,
                                          created_at=now, item_count=len(items), paths=paths)
        _log_run(con, "digest", now, status="ok", message=f"{window.label}: {len(items)} items")
    site = settings.reports_dir / "site"
    archive.write_site(site, site_entries)
    archive.write_site(site, [], feed=archive.atom_feed(archive.known_entries(site), site_url=settings.site_url),
                       calendar_ics=archive.calendar(candidates))
    paths["site"] = {"index": str(site / "index.html"), "calendar": str(site / archive.CALENDAR_FILE),
                     "atom": str(site / archive.FEED_FILE)}
    return DigestReport(window.label, digest_id, len(items), paths, window.start, window.end)


# Links from a rendered report under $SPACEDIGEST_HOME/reports/ to the archive beside it.
REPORT_LINKS = {"archive": "site/index.html", "calendar": "site/calendar.ics", "atom": "site/feed.atom"}


def send_digest(settings: Settings, *, label: str | None = None, dry_run: bool = False,
                now: datetime | None = None) -> SendReport:
    """Deliver a digest to active subscribers not yet served; a row only after the server accepted."""
    from spacedigest.reports import deliver, digest as dg
    from spacedigest.reports.subscribers import Subscriber

    now = now or datetime.now(timezone.utc)
    _load_journals(settings)  # a previous send killed half-way
    with db.writer(settings.home, publish_copy=False) as con:
        digest_row = records.find_digest(con, label)
        if digest_row is None:
            raise LookupError(f"no digest {label or 'yet'}: run `spacedigest digest` first")
        done = records.delivered_ids(con, digest_row["id"])
        subscribers = [Subscriber(**row) for row in records.list_subscribers(con)]
        candidates = _digest_items(
            records.digest_candidates(con, digest_row["window_start"], digest_row["window_end"]),
            dg.jst_date(digest_row["window_end"]),
        )
    report = SendReport(label=digest_row["label"], dry_run=dry_run)
    window = dg.Window(digest_row["window_start"], digest_row["window_end"], digest_row["label"])

    pending = [sub for sub in subscribers if sub.id not in done]
    report.skipped = len(subscribers) - len(pending)
    if dry_run:
        report.sent = sum(1 for _ in _messages(settings, pending, candidates, window, now))
        return report

    # Each answer from the server goes to a journal file at once (no warehouse connection is held
    # while talking to the network); the journal is loaded into `deliveries` afterwards, or by the
    # next send if this one was killed half-way.
    journal = _journal_path(settings, digest_row["id"])
    with deliver.transport_for(settings.smtp_url, settings.outbox_dir) as transport, \
            journal.open("a", encoding="utf-8") as out:
        def on_result(result) -> None:
            if result.ok or result.permanent:
                out.write(json.dumps({
                    "digest_id": digest_row["id"], "subscriber_id": result.subscriber.id,
                    "status": "sent" if result.ok else "rejected", "at": datetime.now(timezone.utc).isoformat(),
                    "message_id": result.message_id, "error": result.error,
                }) + "\n")
                out.flush()
            if result.ok:
                report.sent += 1
            elif result.permanent:
                report.rejected.append(f"{result.subscriber.email}: {result.error}")
            else:  # temporary: no row, so the next send retries it
                report.failed.append(f"{result.subscriber.email}: {result.error}")

        jobs = _messages(settings, pending, candidates, window, now, eight_bit=transport.accepts_8bitmime)
        try:
            deliver.deliver_all(jobs, transport, on_result)
        finally:
            out.flush()
    status = "partial" if report.failed or report.rejected else "ok"
    _load_journals(settings, run=("send", now, status, f"{report.label}: sent {report.sent}, rejected "
                                                      f"{len(report.rejected)}, failed {len(report.failed)}"))
    return report


def _messages(settings: Settings, subscribers, candidates, window, now: datetime, eight_bit=lambda: False):
    """(subscriber, message) pairs, built lazily so 10k messages never sit in memory at once.
    `eight_bit()` is asked once, when the first message is built (for SMTP it opens the
    connection: a send with nobody to send to never contacts the server).

    The body is rendered once per (language, filters) and is the same for everyone in that group
    (so it is encoded once too); what is personal sits in the headers: the address and the
    one-click List-Unsubscribe link with the subscriber's token. The body links to the
    unsubscribe page itself."""
    from spacedigest.reports import digest as dg, mail, render

    rendered: dict[tuple, tuple[str, str, str]] = {}
    links = {"archive": urljoin(settings.site_url, "index.html"),
             "calendar": urljoin(settings.site_url, "calendar.ics"),
             "atom": urljoin(settings.site_url, "feed.atom"),
             "unsubscribe": settings.unsubscribe_base}
    use_8bit = None
    for sub in subscribers:
        if use_8bit is None:
            use_8bit = bool(eight_bit())
        key = (sub.language, tuple(sorted(sub.organisations or ())), tuple(sorted(sub.categories or ())))
        if key not in rendered:
            items = dg.select_items(candidates, window, organisations=sub.organisations or None,
                                    categories=sub.categories or None)
            digest = dg.build_digest(items, window, lang=sub.language, generated_at=now)
            rendered[key] = (render.subject(digest), render.render(digest, "txt", links=links),
                             render.render(digest, "html", links=links))
        subject, text, html = rendered[key]
        yield sub, mail.build_message(
            subscriber=sub, subject=subject, text=text, html=html, sender=settings.sender,
            unsubscribe_url=mail.unsubscribe_url(settings.unsubscribe_base, sub.token), now=now,
            eight_bit=use_8bit,
        )


def _journal_path(settings: Settings, digest_id: int) -> Path:
    settings.outbox_dir.mkdir(parents=True, exist_ok=True)
    return settings.outbox_dir / f".deliveries-{digest_id}.jsonl"


def _log_run(con, kind: str, started: datetime, *, status: str, message: str) -> None:
    """A `runs` row for a job that is not a flow of its own (digest, send)."""
    import uuid

    run_id = str(uuid.uuid4())
    records.start_run(con, run_id, kind, started)
    records.finish_run(con, run_id, finished_at=datetime.now(timezone.utc), status=status, message=message)


def _load_journals(settings: Settings, run: tuple[str, datetime, str, str] | None = None) -> int:
    """Move delivery journals (this send's, or a killed one's) into the warehouse, and log the
    send's run (kind, started, status, message) in the same short write."""
    journals = sorted(settings.outbox_dir.glob(".deliveries-*.jsonl")) if settings.outbox_dir.is_dir() else []
    if not journals and run is None:
        return 0
    rows = []
    for journal in journals:
        for line in journal.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill: that message is retried, never lost
            rows.append({"digest_id": row["digest_id"], "subscriber_id": row["subscriber_id"],
                         "status": row["status"], "delivered_at": datetime.fromisoformat(row["at"]),
                         "message_id": row["message_id"], "error": row["error"]})
    # The first answer per subscriber counts (a journal never holds two, but be sure).
    unique = list({(r["digest_id"], r["subscriber_id"]): r for r in reversed(rows)}.values())
    with db.writer(settings.home) as con:
        records.record_deliveries(con, unique)
        if run is not None:
            kind, started, status, message = run
            _log_run(con, kind, started, status=status, message=message)
    for journal in journals:
        journal.unlink()
    return len(unique)


def digest_of_this_week(settings: Settings, now: datetime) -> str | None:
    """The label of a digest already built in the current ISO week (Asia/Tokyo), if any."""
    from spacedigest.reports.digest import TOKYO, week_window

    year, week, _ = now.astimezone(TOKYO).isocalendar()
    this_week = week_window(f"{year}-W{week:02d}")
    with db.reader(settings.home) as con:
        row = con.execute(statement("digest_in_window"), {"start": this_week.start, "end": this_week.end}).fetchall()
    return row[0][0] if row else None


@dataclass
class HealthReport:
    total: int
    attention: list[dict]
    path: Path
    mailed_to: str | None = None


def staff_health_report(settings: Settings, *, now: datetime | None = None) -> HealthReport:
    """After each collect/run: sources needing attention, written to reports/staff/ and, when
    SPACEDIGEST_STAFF_EMAIL is set and something needs attention, mailed to staff."""
    from spacedigest.reports import deliver, staff
    from spacedigest.reports.render import write_atomic

    now = now or datetime.now(timezone.utc)
    with db.reader(settings.home) as con:
        total, attention = health.needing_attention(con)
    text = staff.render_health(total, attention, now=now)
    folder = settings.reports_dir / "staff"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_atomic(folder / f"health-{now:%Y-%m-%d}.txt", text.encode("utf-8"))
    write_atomic(folder / "health-latest.txt", text.encode("utf-8"))
    report = HealthReport(total, attention, path)
    if attention and settings.staff_email:
        message = staff.health_message(text, sender=settings.sender, to=settings.staff_email,
                                       count=len(attention), now=now)
        with deliver.transport_for(settings.smtp_url, settings.outbox_dir) as transport:
            transport.send(message)
        report.mailed_to = settings.staff_email
    return report


def ensure_warehouse(settings: Settings) -> None:
    """A first query on a new data folder finds the schema and the catalog's sources."""
    from spacedigest.sources.catalog import load_catalog

    if db.staff_path(settings.home).exists():
        return
    with db.writer(settings.home) as con:
        health.sync_sources(con, load_catalog(settings.sources), now=datetime.now(timezone.utc))
