"""The digest and send jobs: wiring between the warehouse and `reports`, no logic of their own.

Plain functions, so the CLI can call them without Prefect; `flows.weekly` wraps them as tasks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from spacedigest.flows.settings import Settings
from spacedigest.warehouse import db, deliveries, health, records


@dataclass
class DigestReport:
    label: str
    digest_id: int
    item_count: int
    paths: dict[str, dict[str, str]]
    window_start: datetime
    window_end: datetime
    warnings: list[str] = field(default_factory=list)


@dataclass
class SendReport:
    label: str
    sent: int = 0
    skipped: int = 0  # already delivered
    rejected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # temporary: retried by the next send
    dry_run: bool = False


def build_digest(settings: Settings, *, week: str | None = None, langs: tuple[str, ...] = ("ja", "en"),
                 now: datetime | None = None) -> DigestReport:
    """Select, render (md/html/txt per language), write the files and the archive, record the digest."""
    from spacedigest.reports import archive, digest as dg, render
    from spacedigest.reports import translate as tr
    from spacedigest.sources.headline import load_rates

    now = now or datetime.now(timezone.utc)
    rates = load_rates(str(settings.rates) if settings.rates else None)
    translator = tr.translator_for(settings.translate, deepl_key=settings.deepl_key, deepl_url=settings.deepl_url,
                                   openai_url=settings.openai_url, openai_model=settings.openai_model,
                                   openai_key=settings.openai_key)
    with db.writer(settings.home, publish_copy=False) as con:
        window = dg.week_window(week) if week else dg.window_since(records.previous_cutoff(con), now)
        candidates = dg.refresh_status(records.digest_candidates(con, window.start, window.end), dg.jst_date(window.end))
        items = dg.select_items(candidates, window)
        texts = tr.texts_to_translate(items)
        known = records.known_translations(con, [tr.text_hash(t) for t in texts], tr.TARGET)
    # the translator is asked with no warehouse connection held (it is the network)
    outcome = tr.translate_missing(texts, known, translator, budget=settings.translate_budget) if translator else None
    warnings = [outcome.warning] if outcome and outcome.warning else []
    with db.writer(settings.home) as con:
        if outcome and outcome.translations:
            records.store_translations(con, tr.rows_of(outcome, texts, translator.name, now))
            known = {**known, **outcome.translations}
        items = tr.with_translations(items, known)
        paths: dict[str, dict[str, str]] = {}
        site_entries = []
        for lang in langs:
            digest = dg.build_digest(items, window, lang=lang, generated_at=now, rates=rates)
            renders = {fmt: render.render(digest, fmt, links=REPORT_LINKS) for fmt in ("md", "html", "txt")}
            written = render.write_reports(settings.reports_dir, digest, renders)
            paths[lang] = {fmt: str(p) for fmt, p in written.items()}
            site_entries.append(archive.site_entry(digest))
        digest_id = records.record_digest(con, label=window.label, start=window.start, end=window.end,
                                          created_at=now, item_count=len(items), paths=paths)
        records.log_run(con, "digest", now, status="ok", message=f"{window.label}: {len(items)} items")
    site = settings.reports_dir / "site"
    archive.write_site(site, site_entries)
    archive.write_site(site, [], feed=archive.atom_feed(archive.known_entries(site), site_url=settings.site_url),
                       calendar_ics=archive.calendar(candidates))
    paths["site"] = {"index": str(site / "index.html"), "calendar": str(site / archive.CALENDAR_FILE),
                     "atom": str(site / archive.FEED_FILE)}
    return DigestReport(window.label, digest_id, len(items), paths, window.start, window.end, warnings)


# Links from a rendered report under $SPACEDIGEST_HOME/reports/ to the archive beside it.
REPORT_LINKS = {"archive": "site/index.html", "calendar": "site/calendar.ics", "atom": "site/feed.atom"}


def send_digest(settings: Settings, *, label: str | None = None, dry_run: bool = False,
                now: datetime | None = None) -> SendReport:
    """Deliver a digest to active subscribers not yet served; a row only after the server accepted."""
    from spacedigest.reports import deliver, digest as dg
    from spacedigest.reports import translate as tr
    from spacedigest.reports.mailing import digest_messages
    from spacedigest.sources.headline import load_rates

    now = now or datetime.now(timezone.utc)
    deliveries.load_journals(settings.home, settings.outbox_dir)  # a previous send killed half-way
    with db.writer(settings.home, publish_copy=False) as con:
        record = records.find_digest(con, label)
        if record is None:
            raise LookupError(f"no digest {label or 'yet'}: run `spacedigest digest` first")
        done = deliveries.delivered_ids(con, record.id)
        subscribers = records.list_subscribers(con)
        candidates = dg.refresh_status(records.digest_candidates(con, record.window_start, record.window_end),
                                       dg.jst_date(record.window_end))
        texts = tr.texts_to_translate(candidates)  # translated when the digest was built; none asked here
        candidates = tr.with_translations(
            candidates, records.known_translations(con, [tr.text_hash(t) for t in texts], tr.TARGET))
    report = SendReport(label=record.label, dry_run=dry_run)
    window = dg.Window(record.window_start, record.window_end, record.label)
    pending = [sub for sub in subscribers if sub.id not in done]
    report.skipped = len(subscribers) - len(pending)

    def messages(eight_bit=lambda: False):
        return digest_messages(pending, candidates, window, sender=settings.sender, site_url=settings.site_url,
                               unsubscribe_base=settings.unsubscribe_base, now=now, eight_bit=eight_bit,
                               rates=load_rates(str(settings.rates) if settings.rates else None))

    if dry_run:
        report.sent = sum(1 for _ in messages())
        return report

    with deliver.transport_for(settings.smtp_url, settings.outbox_dir) as transport, \
            deliveries.Journal(settings.outbox_dir, record.id) as journal:
        def on_result(result) -> None:
            if result.ok or result.permanent:
                journal.record(result.subscriber.id, sent=result.ok, message_id=result.message_id, error=result.error)
            if result.ok:
                report.sent += 1
            elif result.permanent:
                report.rejected.append(f"{result.subscriber.email}: {result.error}")
            else:  # temporary: no row, so the next send retries it
                report.failed.append(f"{result.subscriber.email}: {result.error}")

        deliver.deliver_all(messages(eight_bit=transport.accepts_8bitmime), transport, on_result)
    status = "partial" if report.failed or report.rejected else "ok"
    deliveries.load_journals(settings.home, settings.outbox_dir, run=(
        "send", now, status, f"{report.label}: sent {report.sent}, rejected {len(report.rejected)}, "
                             f"failed {len(report.failed)}"))
    return report


def digest_of_this_week(settings: Settings, now: datetime) -> str | None:
    """The label of a digest already built in the current ISO week (Asia/Tokyo), if any."""
    from spacedigest.reports.digest import TOKYO, week_window

    year, week, _ = now.astimezone(TOKYO).isocalendar()
    this_week = week_window(f"{year}-W{week:02d}")
    with db.reader(settings.home) as con:
        return records.digest_in_window(con, this_week.start, this_week.end)


@dataclass
class HealthReport:
    total: int
    attention: list[health.SourceAttention]
    path: Path
    mailed_to: str | None = None


def staff_health_report(settings: Settings, *, now: datetime | None = None) -> HealthReport:
    """After each collect/run: sources needing attention, written to reports/staff/ and, when
    SPACEDIGEST_STAFF_EMAIL is set and something needs attention, mailed to staff."""
    from spacedigest.reports import deliver, staff
    from spacedigest.sources.files import write_atomic

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
