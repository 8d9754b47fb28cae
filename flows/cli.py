"""The `spacedigest` command line. Each command prints a short human summary.

Exit codes: 0 success; 3 the run completed but some sources failed (or were served only by a
fallback: their items are loaded, their catalog entry needs a fix); 1 fatal error; 2 bad usage.
Prefect is imported only by the commands that run flows, so the others start fast.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from spacedigest.flows.settings import Settings, load_settings, quiet_prefect

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class UsageError(Exception):
    """Bad usage: exit 2 with this message."""


class Fatal(Exception):
    """A clear one-line fatal error: exit 1."""


def console() -> None:
    """The `spacedigest` console script: `main()`, then leave without tearing the interpreter down.

    By the time the exit handlers have run, every file is closed, the warehouse is published and
    Prefect has sent its last events; what remains is freeing Prefect's, pydantic's and DuckDB's
    objects one by one — 0.6 s after every flow command (bench/startup.py). The handler registered
    here, first, runs last and ends the process with main's status."""
    import atexit

    status = [EXIT_FATAL]
    atexit.register(_leave_now, status)
    try:
        status[0] = main()
    except SystemExit as exc:  # settings errors and the like: a message, or a status
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        status[0] = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_FATAL)
    sys.exit(status[0])


def _leave_now(status: list[int]) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status[0])


def main(argv: list[str] | None = None) -> int:
    import warnings

    if not os.environ.get("SPACEDIGEST_DEBUG"):
        # Library warnings (bs4 guessing a parser, Prefect deprecations) are for developers;
        # users get our one-line messages. SPACEDIGEST_DEBUG=1 shows them.
        warnings.simplefilter("ignore")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    settings = load_settings()
    try:
        return args.handler(args, settings) or EXIT_OK
    except UsageError as exc:
        print(f"spacedigest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("spacedigest: interrupted", file=sys.stderr)
        return EXIT_FATAL
    except BrokenPipeError:
        # the reader of our output went away (`… | head`): not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # the last line of defence: one line, never a traceback
        print(f"spacedigest: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FATAL


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, (Fatal, LookupError)) or type(exc).__name__.endswith(("Error", "Invalid", "Subscriber")):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _read_file(path, what: str = "file") -> bytes:
    """A file named on the command line, or a usage error that names it."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


# --- collect / run / serve / reprocess ----------------------------------------------------------

def _catalog_ids(settings: Settings) -> list[str]:
    from spacedigest.sources.catalog import load_catalog

    return [s.id for s in load_catalog(settings.sources)]


@contextlib.contextmanager
def _prefect(settings: Settings):
    """Quiet Prefect, and a Prefect API for the flows: the running server of PREFECT_API_URL, or a
    temporary one started right now (yielded: wait for it before the first flow run)."""
    quiet_prefect(settings.home)
    from spacedigest.flows.tempserver import prefect_api

    with prefect_api(Path(os.environ["PREFECT_HOME"])) as server:
        yield server


def cmd_collect(args, settings: Settings) -> int:
    only = args.source or None
    if only:
        unknown = sorted(set(only) - set(_catalog_ids(settings)))
        if unknown:
            raise UsageError(f"unknown source id(s): {', '.join(unknown)} (see `spacedigest sources list`)")
    with _prefect(settings) as server:
        from spacedigest.flows.collect import collect_flow

        if server:
            server.wait_ready()
        report = asyncio.run(collect_flow(only=only, due_only=args.due_only))
    print_collect(report)
    print_health(settings, named(report))
    return EXIT_PARTIAL if report.needs_attention else EXIT_OK


def named(report) -> set[str]:
    """Sources the collect summary already named with their reason (the health line counts them)."""
    return {line.source_id for line in (*report.failed, *report.served_by_fallback)}


def print_collect(report) -> None:
    ok = [line for line in report.lines if line.status != "error"]
    fallback = f" ({len(report.served_by_fallback)} served by fallback)" if report.served_by_fallback else ""
    print(f"collect: {len(report.lines)} sources, {len(ok)} ok{fallback}, {len(report.failed)} failed; "
          f"{report.items_new} new items, {report.edited} edited ({report.flow_seconds:.1f} s)")
    for line in report.lines:
        if line.status == "error":
            print(f"  FAILED {line.source_id} {line.url}: {line.error}")
        elif line.served_by:
            # The alarm (the source's own way failed) and how the items came all the same.
            print(f"  FALLBACK {line.source_id} {line.url}: {line.primary_error}")
            print(f"         served by {line.served_by}: {line.found} found, {line.new} new; "
                  f"`spacedigest sources check {line.source_id}` shows the fix")
        else:
            note = "not modified" if line.status == "not_modified" else f"{line.found} found, {line.new} new"
            print(f"  ok     {line.source_id}: {note}")


def print_health(settings: Settings, already_named: set[str] = frozenset()) -> None:
    """Sources that need attention, after every collect and run (also written for staff).
    Those whose failure this run already printed are counted, not listed again."""
    from spacedigest.flows.jobs import staff_health_report

    report = staff_health_report(settings)
    others = [row for row in report.attention if row.source_id not in already_named]
    named = len(report.attention) - len(others)
    print(f"health: {report.total - len(report.attention)} of {report.total} sources ok"
          + (f"; {named} as listed above" if named else "")
          + ("; also needing attention:" if others else ""))
    for row in others:
        failures = row.consecutive_failures
        detail = f" ({failures} consecutive failures: {row.reason})" if failures else (
            f" ({row.reason})" if row.reason else "")
        print(f"  {row.state:<13} {row.source_id}{detail}")
    print(f"  staff report: {report.path}" + (f", mailed to {report.mailed_to}" if report.mailed_to else ""))


def cmd_run(args, settings: Settings) -> int:
    with _prefect(settings) as server:
        from spacedigest.flows.weekly import weekly_flow

        if server:
            server.wait_ready()
        report = asyncio.run(weekly_flow())
    print_collect(report.collect)
    if report.skipped_reason:
        print(f"digest: skipped, {report.skipped_reason}")
    elif report.review:
        from spacedigest.reports.render import format_datetime_jst

        print_digest(report.digest)
        print(f"review: members get {report.review.label} at {format_datetime_jst(report.review.release_at, 'en')}"
              f" unless staff run `spacedigest hold`; preview "
              + (f"mailed to {report.review.mailed_to}" if report.review.mailed_to else
                 "not mailed (no SPACEDIGEST_STAFF_EMAIL): read it under reports/"))
    else:
        print_digest(report.digest)
        print_send(report.send)
    print_health(settings, named(report.collect))
    return EXIT_PARTIAL if report.collect.needs_attention or (report.send and report.send.failed) else EXIT_OK


def cmd_demo(args, settings: Settings) -> int:
    """The real pipeline on the bundled sample week, served on loopback, in a home of its own."""
    import time

    from spacedigest.flows import demo

    started = time.monotonic()
    with demo.sample_week(Path(args.home), user_home=settings.home) as week:
        print(f"demo: the sample week is served at {week.site.base_url}; home {demo.shown(week.home)} (wiped first)")
        with _prefect(load_settings()) as server:
            from spacedigest.flows.collect import collect_flow
            from spacedigest.flows.weekly import weekly_flow

            if server:
                server.wait_ready()
            print("demo: collect (the partners' sites as first seen)")
            print_collect(asyncio.run(collect_flow()))
            week.next_capture()  # later that week: one deadline moved, every other page unchanged
            print("demo: run = collect -> digest -> send (later that week: one deadline has moved)")
            report = asyncio.run(weekly_flow())
        print_collect(report.collect)
        if report.skipped_reason:
            raise Fatal(f"demo: digest skipped, {report.skipped_reason}")
        print(f"digest {report.digest.label}: {report.digest.item_count} items, in Japanese and English "
              "(Markdown, HTML, text), with the archive, its Atom feed and calendar")
        print_send(report.send)
        print_health(load_settings(), {line.source_id for line in report.collect.failed})
        print(f"demo: done in {time.monotonic() - started:.1f} s")
        print()
        print("\n".join(demo.where_to_look(week.home, report.digest.paths)))
    failed = report.collect.failed or report.send.failed or report.send.rejected
    if args.open and not failed:
        print()
        demo.serve_until_interrupted(week.home)
    return EXIT_PARTIAL if failed else EXIT_OK


def cmd_serve(args, settings: Settings) -> int:
    quiet_prefect(settings.home)
    from spacedigest.flows.serve import serve

    serve(weekly_cron=args.weekly_cron, collect_cron=args.collect_cron, once=args.register_only)
    return EXIT_OK


def cmd_reprocess(args, settings: Settings) -> int:
    from spacedigest.flows.reprocess import reprocess

    if args.source:
        unknown = sorted(set(args.source) - set(_catalog_ids(settings)))
        if unknown:
            raise UsageError(f"unknown source id(s): {', '.join(unknown)}")
    report = reprocess(settings, only=args.source or None)
    print(f"reprocess: {report.captures} captures from {report.sources} sources, {report.found} entries, "
          f"{report.new} new items, {report.edited} edited, {report.missing} captures missing")
    for line in report.errors:
        print(f"  FAILED {line}")
    return EXIT_OK


# --- digest / send ------------------------------------------------------------------------------

def _check_week(week: str | None) -> None:
    if week is None:
        return
    from spacedigest.reports.digest import week_window

    try:
        week_window(week)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def cmd_digest(args, settings: Settings) -> int:
    from spacedigest.flows import jobs

    _check_week(args.week)
    langs = (args.lang,) if args.lang else ("ja", "en")
    print_digest(jobs.build_digest(settings, week=args.week, langs=langs, exclude=tuple(args.exclude or ())))
    return EXIT_OK


def cmd_hold(args, settings: Settings) -> int:
    from spacedigest.flows import jobs
    from spacedigest.reports.digest import week_window

    _check_week(args.week)
    label, held = jobs.hold(settings, label=week_window(args.week).label if args.week else None,
                            release=args.release)
    print(f"hold: digest {label} " + ("held: no member gets it until `spacedigest hold --release`" if held
                                      else "released: the next pickup (within the hour) sends it"))
    return EXIT_OK


def cmd_release(args, settings: Settings) -> int:
    from spacedigest.flows import jobs

    reports = jobs.release_due(settings)
    for report in reports:
        print_send(report)
    if not reports:
        print("release: no reviewed digest is due")
    return EXIT_PARTIAL if any(r.failed for r in reports) else EXIT_OK


def print_digest(report) -> None:
    print(f"digest {report.label}: {report.item_count} items")
    for warning in report.warnings:
        print(f"  {warning}")
    for lang, paths in report.paths.items():
        for fmt, path in paths.items():
            print(f"  {lang} {fmt:<4} {path}")


def cmd_send(args, settings: Settings) -> int:
    from spacedigest.flows import jobs
    from spacedigest.reports.digest import week_window

    _check_week(args.week)
    label = week_window(args.week).label if args.week else None
    report = jobs.send_digest(settings, label=label, dry_run=args.dry_run)
    print_send(report)
    return EXIT_PARTIAL if report.failed else EXIT_OK


def print_send(report) -> None:
    verb = "would send" if report.dry_run else "sent"
    what = "alert" if report.kind == "alert" else "send"
    print(f"{what} {report.label}: {verb} {report.sent}, already delivered {report.skipped}, "
          f"rejected {len(report.rejected)}, failed {len(report.failed)}"
          + (f", being sent by another send {len(report.busy)}" if report.busy else ""))
    if report.missing:
        from spacedigest.flows.jobs import missing_settings_message

        print(f"  NOT CONFIGURED: {missing_settings_message(report.missing)}")
    for line in report.rejected:
        print(f"  REJECTED {line}")
    for line in report.failed:
        print(f"  FAILED   {line} (will be retried by the next send)")


def cmd_alert(args, settings: Settings) -> int:
    from spacedigest.flows import jobs

    built = jobs.build_alert(settings)
    print(f"alert {built.label}: {built.item_count} new calls a Japanese company may apply to")
    report = jobs.send_digest(settings, label=built.label, kind="alert", dry_run=args.dry_run)
    print_send(report)
    return EXIT_PARTIAL if report.failed else EXIT_OK


# --- web ----------------------------------------------------------------------------------------

def cmd_web(args, settings: Settings) -> int:
    import uvicorn

    from spacedigest.reports.web import create_app
    from spacedigest.warehouse import db

    if not db.staff_is_current(settings.home):  # the pages read the published copy: give it the schema
        print("web: preparing the warehouse (waits for a run that holds it)")
        with db.writer(settings.home):
            pass
    host = args.host or settings.web_host
    port = args.port or settings.web_port
    app = create_app(settings)
    print(f"web: serving on http://{host}:{port}/ (public address {settings.site_url}); Ctrl-C to stop")
    # proxy_headers: the client address comes from X-Forwarded-For, trusted from the reverse proxy
    # only (SPACEDIGEST_WEB_PROXIES, default 127.0.0.1): the rate limits count per real client.
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips=os.environ.get("SPACEDIGEST_WEB_PROXIES") or "127.0.0.1",
                server_header=False, access_log=False)
    return EXIT_OK


# --- query --------------------------------------------------------------------------------------

def cmd_query(args, settings: Settings) -> int:
    from spacedigest.warehouse import query

    if args.file:
        sql = _read_file(args.file, "query file").decode("utf-8", errors="replace")
    elif args.sql:
        sql = args.sql
    else:
        raise UsageError("give a SQL statement or --file QUERY.sql")
    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet needs --output FILE.parquet")
    from spacedigest.flows.jobs import ensure_warehouse

    ensure_warehouse(settings)
    try:
        out = query.run(settings.home, sql, fmt=args.format, output=args.output)
    except query.QueryError as exc:
        raise Fatal(str(exc)) from None
    if out:
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return EXIT_OK


# --- parse --------------------------------------------------------------------------------------

def cmd_parse(args, settings: Settings) -> int:
    from dataclasses import replace

    from spacedigest.sources import kinds
    from spacedigest.sources.catalog import load_catalog
    from spacedigest.sources.models import Source, SourceError
    from spacedigest.sources.pipeline import interpret

    path = Path(args.file)
    body = _read_file(path)
    try:
        kind = kinds.resolve(args.kind, body) if args.kind else None
    except SourceError as exc:
        raise Fatal(f"{path}: {exc}") from None
    if args.source:
        by_id = {s.id: s for s in load_catalog(settings.sources)}
        if args.source not in by_id:
            raise UsageError(f"unknown source id '{args.source}' (see `spacedigest sources list`)")
        source = by_id[args.source]
        if kind and kind != source.kind:
            source = replace(source, kind=kind, options=_default_options(kind))
    else:
        if not kind:
            raise UsageError("give --kind feed|html|json (or --source ID)")
        source = Source(id="local-file", organisation="(local file)", kind=kind,
                        url=args.base_url or path.resolve().as_uri(), language=args.language or "en",
                        options=_default_options(kind))
    base = args.base_url or source.url
    now = _as_of(args.as_of)
    try:
        page = kinds.kind_of(source).parse(source, body, url=base, content_type=None)
        announcements = interpret(source, [page], url=base, fetched_at=now)
    except SourceError as exc:
        raise Fatal(f"{path}: {exc}") from None
    for a in announcements:
        print(json.dumps(announcement_record(a), ensure_ascii=False, default=str))
    print(f"parse: {len(announcements)} announcements from {path}", file=sys.stderr)
    return EXIT_OK


def _default_options(kind: str):
    """A kind's options when no catalog entry gives them; a kind that needs some (html: its
    selectors) needs --source."""
    from spacedigest.sources import kinds

    try:
        return kinds.kind_named(kind).options()
    except TypeError:
        raise UsageError(f"--kind {kind} needs --source ID: its catalog entry gives the {kind} options") from None


def announcement_record(a) -> dict:
    """An announcement under the warehouse's column names (what staff query in `items`)."""
    from dataclasses import asdict

    record = asdict(a)
    record.pop("stated")
    return record


def _as_of(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- sources ------------------------------------------------------------------------------------

def cmd_sources(args, settings: Settings) -> int:
    from spacedigest.sources import catalog as cat

    if args.action == "list":
        sources = cat.load_catalog(settings.sources)
        for s in sources:
            flag = "" if s.enabled else " (disabled)"
            print(f"{s.id:<28} {s.organisation:<18} {s.kind:<5} {s.language:<3} {s.url}{flag}")
        print(f"{len(sources)} sources, {len({s.organisation for s in sources})} organisations")
        return EXIT_OK
    if args.action == "check":
        from spacedigest.flows.check import check_sources

        return check_sources(settings, args.ids)
    if args.action == "discover":
        from spacedigest.flows.discover import DiscoverUsage, run_discover

        if len(args.ids) != 1:
            raise UsageError("sources discover needs one URL: any page of the site to follow")
        try:
            return run_discover(settings, args.ids[0], organisation=args.organisation, source_id=args.id,
                                language=args.language, headers=args.header or [])
        except DiscoverUsage as exc:
            raise UsageError(f"sources discover: {exc}") from None
    if args.action == "export-opml":
        from spacedigest.sources.opml import export_opml

        sys.stdout.write(export_opml(cat.load_catalog(settings.sources)))
        return EXIT_OK
    if args.action == "import-opml":
        from spacedigest.sources.opml import sources_from_opml

        if not args.ids:
            raise UsageError("import-opml needs an OPML file")
        data = _read_file(args.ids[0], "OPML file")
        existing = cat.load_catalog(settings.sources)
        imported = sources_from_opml(data)
        known_urls = {s.url for s in existing}
        known_ids = {s.id for s in existing}
        fresh = [s for s in imported if s.url not in known_urls and s.id not in known_ids]
        sys.stdout.write(cat.dump_catalog(fresh))
        print(f"import-opml: {len(imported)} feeds read, {len(fresh)} new; append the TOML above to your "
              f"catalog (SPACEDIGEST_SOURCES) to use them", file=sys.stderr)
        return EXIT_OK
    raise UsageError(f"unknown sources action {args.action}")


# --- subscribers --------------------------------------------------------------------------------

def cmd_subscribers(args, settings: Settings) -> int:
    from spacedigest.reports import subscribers as subs
    from spacedigest.warehouse import db, records

    now = datetime.now(timezone.utc)
    if args.action == "add":
        if not args.email:
            raise UsageError("subscribers add needs an email address")
        try:
            sub = subs.make_subscriber(args.email, args.name or "", args.lang or "ja", args.org or (),
                                       args.category or (), eligible_only=args.eligible_only)
        except subs.InvalidSubscriber as exc:
            raise UsageError(str(exc)) from None
        with db.writer(settings.home) as con:
            _, created = records.add_subscriber(con, sub, now=now)
            records.record_consent(con, sub.email, event="given", at=now, method="staff-command",
                                   source=args.consent or f"added by {_who()}")
        print(f"subscribers: {'added' if created else 'updated'} {sub.email} ({sub.language})")
        return EXIT_OK
    if args.action == "remove":
        if not args.email:
            raise UsageError("subscribers remove needs an email address")
        try:
            email = subs.normalize_email(args.email)
        except subs.InvalidSubscriber as exc:
            raise UsageError(str(exc)) from None
        with db.writer(settings.home) as con:
            removed = records.remove_subscriber(con, email, now=now)
            if removed:
                records.record_consent(con, email, event="withdrawn", at=now, method="staff-command",
                                       source=f"removed by {_who()}")
        print(f"subscribers: {'removed' if removed else 'no active subscriber'} {email}")
        return EXIT_OK if removed else EXIT_FATAL
    if args.action == "list":
        with db.writer(settings.home, publish_copy=False) as con:  # with the web's latest changes
            rows = records.list_subscribers(con)
        for r in rows:
            scope = ";".join(r.organisations) or "all"
            cats = ";".join(r.categories) or "all"
            only = " eligible-only" if r.eligible_only else ""
            extra = (" daily-alert" if r.frequency == "weekly+daily" else "") + (" PAUSED" if r.paused else "")
            print(f"{r.email:<36} {r.language}  {r.name or '':<24} orgs={scope} categories={cats}{only}{extra}")
        print(f"{len(rows)} active subscribers")
        return EXIT_OK
    if args.action == "import":
        if not args.email:
            raise UsageError("subscribers import needs a CSV file")
        if not (args.consent or "").strip():
            raise UsageError("subscribers import needs --consent \"where these addresses agreed to receive the digest\" "
                             "(kept as their consent record, 特定電子メール法)")
        data = _read_file(args.email, "CSV file")
        parsed, errors = subs.parse_csv(subs.decode_csv(data))
        added = updated = 0
        with db.writer(settings.home) as con:
            for sub in parsed:
                _, created = records.add_subscriber(con, sub, now=now)
                records.record_consent(con, sub.email, event="given", at=now, method="csv-import",
                                       source=args.consent.strip(), detail=f"{Path(args.email).name}, by {_who()}")
                added += created
                updated += not created
        print(f"subscribers import: {added} added, {updated} updated, {len(errors)} rows refused")
        for err in errors:
            print(f"  {err}")
        return EXIT_PARTIAL if errors else EXIT_OK
    raise UsageError(f"unknown subscribers action {args.action}")


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"


# --- parser -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spacedigest",
        description="Collect space-agency programme announcements, keep them in DuckDB, mail a weekly digest.",
        epilog="Settings: SPACEDIGEST_HOME, SPACEDIGEST_SOURCES, SPACEDIGEST_SMTP_URL, SPACEDIGEST_FROM, "
               "SPACEDIGEST_SITE_URL, SPACEDIGEST_SENDER_NAME, SPACEDIGEST_POSTAL_ADDRESS, SPACEDIGEST_CONTACT_EMAIL "
               "(see README).",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("collect", help="fetch enabled sources and load the warehouse")
    c.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    c.add_argument("--due-only", action="store_true", help="skip sources that are backing off after failures")
    c.set_defaults(handler=cmd_collect)

    d = sub.add_parser("digest", help="build the digest (Markdown, HTML, text) and record it")
    d.add_argument("--week", metavar="YYYY-Www", help="re-render that ISO week (Asia/Tokyo)")
    d.add_argument("--lang", choices=["ja", "en"], help="only this language (default: both)")
    d.add_argument("--exclude", action="append", metavar="ITEM_ID",
                   help="re-render the latest digest (or --week's) without this item, in files and mails (repeatable)")
    d.set_defaults(handler=cmd_digest)

    s = sub.add_parser("send", help="deliver a digest to active subscribers (never twice)")
    s.add_argument("--week", metavar="YYYY-Www", help="the digest of that ISO week (default: the latest)")
    s.add_argument("--dry-run", action="store_true", help="build the messages, send nothing")
    s.set_defaults(handler=cmd_send)

    al = sub.add_parser("alert", help="build and send the daily alert of new calls open to Japan (after a collect)")
    al.add_argument("--dry-run", action="store_true", help="build the messages, send nothing")
    al.set_defaults(handler=cmd_alert)

    w = sub.add_parser("web", help="the subscribers' web app: unsubscribe, preferences, sign-up, the archive")
    w.add_argument("--host", help="listen address (default SPACEDIGEST_WEB_HOST or 127.0.0.1)")
    w.add_argument("--port", type=int, help="port (default SPACEDIGEST_WEB_PORT or 8080)")
    w.set_defaults(handler=cmd_web)

    h = sub.add_parser("hold", help="staff review: keep the latest digest from members (--release lets it go)")
    h.add_argument("--week", metavar="YYYY-Www", help="that week's digest (default: the latest)")
    h.add_argument("--release", action="store_true", help="let it go: the next pickup sends it")
    h.set_defaults(handler=cmd_hold)

    rl = sub.add_parser("release", help="send reviewed digests whose time has come (what the hourly schedule runs)")
    rl.set_defaults(handler=cmd_release)

    r = sub.add_parser("run", help="the main job: collect, digest, send")
    r.set_defaults(handler=cmd_run)

    dm = sub.add_parser("demo", help="the real pipeline on a bundled sample week, offline, in data/demo/",
                        description="Serve a bundled sample week of partner sites on 127.0.0.1, run the real "
                                    "collect -> digest -> send on it in a home of its own (mail to its outbox), "
                                    "and print where to look. Your data/ and SPACEDIGEST_* settings are not used.")
    dm.add_argument("--home", default=str(Path("data") / "demo"), metavar="DIR",
                    help="the demo's own data folder, wiped and rebuilt on every run (default: data/demo)")
    dm.add_argument("--open", action="store_true",
                    help="then serve the archive on loopback and print its URL, until Ctrl-C")
    dm.set_defaults(handler=cmd_demo)

    sv = sub.add_parser("serve", help="register the scheduled deployments and run them (needs a Prefect server)")
    sv.add_argument("--weekly-cron", default="0 8 * * 1", help="weekly run, Asia/Tokyo (default: Monday 08:00)")
    sv.add_argument("--collect-cron", default="0 6 * * *", help="collection, Asia/Tokyo (default: daily 06:00)")
    sv.add_argument("--register-only", action="store_true", help="register the deployments and exit")
    sv.set_defaults(handler=cmd_serve)

    q = sub.add_parser("query", help="run read-only SQL on the staff copy of the warehouse")
    q.add_argument("sql", nargs="?", help="the SQL statement")
    q.add_argument("--file", metavar="QUERY.sql", help="read the SQL from a file")
    q.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    q.add_argument("--output", metavar="FILE", help="write to a file (required for parquet)")
    q.set_defaults(handler=cmd_query)

    pa = sub.add_parser("parse", help="parse a local file with the real parsers; print announcements as JSON lines")
    pa.add_argument("file")
    pa.add_argument("--kind", choices=["feed", "html", "json", "wordpress", "eu-funding-tenders"])
    pa.add_argument("--source", metavar="ID", help="use this catalog source's settings (selectors, language)")
    pa.add_argument("--base-url", metavar="URL", help="resolve relative links against this URL")
    pa.add_argument("--language", choices=["en", "fr", "ja"], help="language when no --source is given")
    pa.add_argument("--as-of", metavar="DATETIME",
                    help="pretend the file was fetched then (ISO 8601), for statuses and relative deadlines")
    pa.set_defaults(handler=cmd_parse)

    so = sub.add_parser("sources", help="list, check [ID]..., discover URL, import-opml FILE, export-opml",
                        description="discover URL: find how to follow a site from any of its pages (its feed, "
                                    "WordPress API, sitemap or the page's list of dated links) and print a "
                                    "[[source]] entry ready to paste into the catalog, with the first items it "
                                    "yields; exit 3 when nothing fits.")
    so.add_argument("action", choices=["list", "check", "discover", "import-opml", "export-opml"])
    so.add_argument("ids", nargs="*", help="source ids (check), the URL (discover) or the OPML file (import-opml)")
    so.add_argument("--organisation", metavar="ORG", help="discover: the organisation of the new source")
    so.add_argument("--id", metavar="ID", help="discover: the id of the new source (default: from the URL)")
    so.add_argument("--language", metavar="LANG", help="discover: its language (default: the page's)")
    so.add_argument("--header", action="append", metavar="'NAME: VALUE'",
                    help="discover: an HTTP header the site needs (repeatable), kept in the entry")
    so.set_defaults(handler=cmd_sources)

    su = sub.add_parser("subscribers", help="add EMAIL | list | remove EMAIL | import FILE.csv")
    su.add_argument("action", choices=["add", "list", "remove", "import"])
    su.add_argument("email", nargs="?", help="address (add, remove) or CSV file (import)")
    su.add_argument("--name")
    su.add_argument("--lang", choices=["ja", "en"])
    su.add_argument("--org", action="append", metavar="ORGANISATION", help="only this organisation (repeatable)")
    su.add_argument("--category", action="append", metavar="CATEGORY",
                    help="only this category: funding, tender, incubation, partnership, event, programme, other")
    su.add_argument("--eligible-only", action="store_true",
                    help="only the open calls a Japanese company may apply to")
    su.add_argument("--consent", metavar="TEXT",
                    help="how these addresses agreed to receive the digest (required by import; kept as their "
                         "consent record)")
    su.set_defaults(handler=cmd_subscribers)

    rp = sub.add_parser("reprocess", help="rebuild items from stored raw captures with the current parsers (offline)")
    rp.add_argument("--source", action="append", metavar="ID")
    rp.set_defaults(handler=cmd_reprocess)
    return p


if __name__ == "__main__":
    sys.exit(main())
