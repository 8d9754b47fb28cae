"""The digest and send jobs: wiring between the warehouse and `reports`, no logic of their own.

Plain functions, so the CLI can call them without Prefect; `flows.weekly` wraps them as tasks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from spacedigest.flows.settings import Settings
from spacedigest.warehouse import db, deliveries, health, journal, ledger, records


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
    busy: list[str] = field(default_factory=list)  # being sent right now by another send
    missing: list[str] = field(default_factory=list)  # settings every mail must show, unset
    dry_run: bool = False
    kind: str = "weekly"


class MissingSettingsError(Exception):
    """Mail must not go out without the sender's legal details (特定電子メール法)."""


def missing_settings_message(missing: list[str]) -> str:
    return ("not sending: every mail must show the sender's name, postal address, contact address and an "
            "opt-out link members can reach (特定電子メール法); set " + ", ".join(missing))


class HeldError(Exception):
    """Staff hold this digest (`spacedigest hold`)."""


def build_digest(settings: Settings, *, week: str | None = None, langs: tuple[str, ...] = ("ja", "en"),
                 now: datetime | None = None, exclude: tuple[str, ...] = ()) -> DigestReport:
    """Select, render (md/html/txt per language), write the files and the archive, record the digest.
    `exclude`: re-render the latest digest (or that week's) without these items (they stay out of
    its mails too)."""
    from spacedigest.reports import archive, digest as dg, render
    from spacedigest.reports import translate as tr
    from spacedigest.sources.headline import load_rates

    now = now or datetime.now(timezone.utc)
    rates = load_rates(str(settings.rates) if settings.rates else None)
    translator = tr.translator_for(settings.translate, deepl_key=settings.deepl_key, deepl_url=settings.deepl_url,
                                   openai_url=settings.openai_url, openai_model=settings.openai_model,
                                   openai_key=settings.openai_key)
    with db.writer(settings.home, publish_copy=False) as con:
        excluded: list[str] = []
        if exclude:
            record = records.find_digest(con, dg.week_window(week).label if week else None)
            if record is None:
                raise LookupError("no digest yet to take an item out of: run `spacedigest digest` first")
            window = dg.Window(record.window_start, record.window_end, record.label)
            excluded = sorted(set(record.excluded) | set(exclude))
        else:
            window = dg.week_window(week) if week else dg.window_since(records.previous_cutoff(con), now)
        candidates = dg.refresh_status(records.digest_candidates(con, window.start, window.end), dg.jst_date(window.end))
        chosen = dg.select_items(candidates, window)
        unknown = sorted(set(exclude) - {item.id for item in chosen})
        if unknown:
            raise LookupError(f"no item {', '.join(unknown)} in digest {window.label} "
                              f"(its items: spacedigest query \"select id, title from items ...\")")
        items = dg.without(chosen, excluded)
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
                                          created_at=now, item_count=len(items), paths=paths, excluded=excluded)
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
                now: datetime | None = None, kind: str = "weekly") -> SendReport:
    """Deliver a digest (or a daily alert) to the subscribers receiving it, each exactly once: every
    message is claimed in the delivery ledger just before it goes out (warehouse.ledger), so sends
    running at the same time share the work and a killed one leaves nothing sent twice."""
    from dataclasses import replace

    from spacedigest.reports import deliver, digest as dg
    from spacedigest.reports import translate as tr
    from spacedigest.reports.mailing import alert_recipients, digest_messages
    from spacedigest.sources.headline import load_rates

    now = now or datetime.now(timezone.utc)
    with db.writer(settings.home, publish_copy=False) as con:  # web changes are applied first
        ledger.move_results(con, settings.home)  # a previous send's answers, also one killed half-way
        record = records.find_digest(con, label, kind)
        if record is None:
            raise LookupError(f"no {'daily alert' if kind == 'alert' else 'digest'} {label or 'yet'}: "
                              f"run `spacedigest {'alert' if kind == 'alert' else 'digest'}` first")
        if record.held and not dry_run:
            raise HeldError(f"digest {record.label} is held by staff: `spacedigest hold --release` lets it go")
        done = deliveries.delivered_ids(con, record.id)
        subscribers = [sub for sub in records.list_subscribers(con) if sub.receiving]
        candidates = dg.without(dg.refresh_status(records.digest_candidates(con, record.window_start, record.window_end),
                                                  dg.jst_date(record.window_end)), record.excluded)
        texts = tr.texts_to_translate(candidates)  # translated when the digest was built; none asked here
        candidates = tr.with_translations(
            candidates, records.known_translations(con, [tr.text_hash(t) for t in texts], tr.TARGET))
    report = SendReport(label=record.label, dry_run=dry_run, kind=kind, missing=settings.legal_missing())
    window = dg.Window(record.window_start, record.window_end, record.label)
    if kind == "alert":
        subscribers = alert_recipients(subscribers, candidates, window)
    pending = [sub for sub in subscribers if sub.id not in done]
    report.skipped = len(subscribers) - len(pending)

    def messages(receivers, eight_bit=lambda: False):
        return digest_messages(receivers, candidates, window, sender=settings.sender, site_url=settings.site_url,
                               legal=settings.legal, alert=kind == "alert", now=now, eight_bit=eight_bit,
                               rates=load_rates(str(settings.rates) if settings.rates else None))

    if dry_run:
        report.sent = sum(1 for _ in messages(replace(sub, token="dry-run") for sub in pending))
        return report
    if report.missing and pending:
        raise MissingSettingsError(missing_settings_message(report.missing))

    with deliver.transport_for(settings.smtp_url, settings.outbox_dir) as transport, \
            ledger.Claims(settings.home, record.id) as claims:
        already = claims.done()
        report.skipped += sum(1 for sub in pending if sub.id in already)

        def on_result(result) -> None:
            if result.ok or result.permanent:
                claims.finish(result.subscriber, sent=result.ok, message_id=result.message_id, error=result.error)
            else:  # temporary: the claim is given back, so the next send retries it
                claims.release(result.subscriber)
            if result.ok:
                report.sent += 1
            elif result.permanent:
                report.rejected.append(f"{result.subscriber.email}: {result.error}")
            else:
                report.failed.append(f"{result.subscriber.email}: {result.error}")

        receivers = claims.claimed(sub for sub in pending if sub.id not in already)
        deliver.deliver_all(messages(receivers, eight_bit=transport.accepts_8bitmime), transport, on_result)
        report.busy = claims.busy
        report.skipped += claims.done_meanwhile
    status = "partial" if report.failed or report.rejected else "ok"
    with db.writer(settings.home) as con:
        ledger.move_results(con, settings.home)
        records.log_run(con, "send" if kind == "weekly" else "alert", now, status=status,
                        message=f"{report.label}: sent {report.sent}, rejected {len(report.rejected)}, "
                                f"failed {len(report.failed)}, sent by another send {len(report.busy)}")
    journal.prune(settings.home, now=now)
    return report


def build_alert(settings: Settings, *, now: datetime | None = None) -> DigestReport:
    """The daily alert: calls first seen since the previous alert (first time: the last day) that a
    Japanese company may apply to. Recorded like a digest (kind 'alert'); no files."""
    from spacedigest.reports import digest as dg

    now = now or datetime.now(timezone.utc)
    with db.writer(settings.home) as con:
        window = dg.alert_window(records.previous_cutoff(con, "alert"), now)
        candidates = dg.refresh_status(records.digest_candidates(con, window.start, window.end), dg.jst_date(window.end))
        items = dg.select_items(candidates, window, eligible_only=True)
        digest_id = records.record_digest(con, label=window.label, start=window.start, end=window.end,
                                          created_at=now, item_count=len(items), paths={}, kind="alert")
        records.log_run(con, "alert-build", now, status="ok", message=f"{window.label}: {len(items)} calls")
    return DigestReport(window.label, digest_id, len(items), {}, window.start, window.end)


@dataclass
class ReviewReport:
    label: str
    release_at: datetime
    mailed_to: str | None


def start_review(settings: Settings, label: str, *, now: datetime | None = None) -> ReviewReport:
    """SPACEDIGEST_REVIEW_HOURS: members get the digest that many hours from now (`release_due`,
    run by the schedule) unless staff hold it; staff get a preview now, as a Japanese member would."""
    from spacedigest.reports import deliver, digest as dg
    from spacedigest.reports.mailing import digest_messages
    from spacedigest.reports.render import format_datetime_jst
    from spacedigest.sources.models import Subscriber

    now = now or datetime.now(timezone.utc)
    release_at = now + timedelta(hours=settings.review_hours or 0)
    with db.writer(settings.home) as con:
        record = records.find_digest(con, label)
        records.set_review(con, record.id, release_at=release_at, held=False)
        candidates = dg.without(dg.refresh_status(records.digest_candidates(con, record.window_start, record.window_end),
                                                  dg.jst_date(record.window_end)), record.excluded)
    report = ReviewReport(record.label, release_at, None)
    if settings.staff_email:
        staff = Subscriber(email=settings.staff_email, name="", token="preview")
        window = dg.Window(record.window_start, record.window_end, record.label)
        _, message = next(digest_messages([staff], candidates, window, sender=settings.sender,
                                          site_url=settings.site_url, legal=settings.legal, now=now))
        subject = str(message["Subject"])
        del message["Subject"]
        message["Subject"] = (f"【確認用 / preview: members get it {format_datetime_jst(release_at, 'ja')}; "
                              f"spacedigest hold stops it】{subject}")
        with deliver.transport_for(settings.smtp_url, settings.outbox_dir) as transport:
            transport.send(message)
        report.mailed_to = settings.staff_email
    return report


def release_due(settings: Settings, *, now: datetime | None = None) -> list[SendReport]:
    """Send the reviewed digests whose time has come and that staff did not hold (the schedule runs
    this every hour); each is then released (sending again is harmless anyway: exactly once)."""
    now = now or datetime.now(timezone.utc)
    with db.writer(settings.home, publish_copy=False) as con:
        due = records.digests_due(con, now)
    reports = []
    for label in due:
        reports.append(send_digest(settings, label=label, now=now))
        with db.writer(settings.home) as con:
            records.set_review(con, records.find_digest(con, label).id, release_at=None, held=False)
    return reports


def hold(settings: Settings, *, label: str | None = None, release: bool = False,
         now: datetime | None = None) -> tuple[str, bool]:
    """Hold the latest digest (or `label`): no member gets it. `release`: let it go at the next pickup."""
    now = now or datetime.now(timezone.utc)
    with db.writer(settings.home) as con:
        record = records.find_digest(con, label)
        if record is None:
            raise LookupError(f"no digest {label or 'yet'}")
        records.set_review(con, record.id, release_at=now if release else record.release_at, held=not release)
    return record.label, not release


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
    """A first query on a new data folder finds the schema and the catalog's sources; a query finds
    the changes members made on the web, unless a run holds the warehouse right now (it applies
    and publishes them itself)."""
    from spacedigest.sources.catalog import load_catalog

    if db.staff_path(settings.home).exists():
        if journal.staff_copy_behind(settings.home):
            try:
                with db.writer(settings.home, wait_s=0):  # applies the journal, publishes the copy
                    pass
            except db.WarehouseError:
                pass
        return
    with db.writer(settings.home) as con:
        health.sync_sources(con, load_catalog(settings.sources), now=datetime.now(timezone.utc))
