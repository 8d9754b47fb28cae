"""Source health: the catalog in the warehouse, per-source state, fetch log and backoff.

`next_check` and `outcome` are pure; the rest reads or writes the warehouse.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from spacedigest.sources.models import Attempt, Fetched, Source, SourceResult, Validators
from spacedigest.warehouse.sql import run_with, statement, transaction

# A healthy source is checked again after this long (the daily collection).
CHECK_INTERVAL = timedelta(hours=20)
# After failures: 1 h, 2 h, 4 h, ... capped, never parked for good.
BACKOFF_BASE = timedelta(hours=1)
BACKOFF_CAP = timedelta(days=3)


@dataclass
class SourceState:
    id: str
    fetch_url: str
    validators: Validators
    enabled: bool
    disabled_reason: str | None
    next_check_at: datetime | None
    consecutive_failures: int

    def due(self, now: datetime) -> bool:
        return self.next_check_at is None or self.next_check_at <= now


@dataclass
class SourceOutcome:
    """What one collect learned about one source (staged as `outcome` for update_health.sql)."""

    source_id: str
    started_at: datetime
    ok: bool
    error: str | None
    items_new: int
    etag: str | None
    last_modified: str | None
    store_validators: bool
    permanent_redirect: str | None
    disable_reason: str | None
    next_check_at: datetime
    served_by: str | None = None  # a fallback served the items: how ("fallback: announced feed …")


def next_check(now: datetime, *, ok: bool, failures_before: int) -> datetime:
    """When to try a source again: the regular interval, or capped exponential backoff."""
    if ok:
        return now + CHECK_INTERVAL
    delay = BACKOFF_BASE * (2 ** min(failures_before, 16))
    return now + min(delay, BACKOFF_CAP)


def outcome(fetched: Fetched, *, error: str | None, items_new: int, failures_before: int,
            served_by: str | None = None, primary_error: str | None = None) -> SourceOutcome:
    """The health update for one attempt. `error` is the fetch or parse error, if any.

    Validators are stored only when the body was fetched AND parsed: after a parse failure the
    next run must download the page again rather than get a 304 for a page it never understood.

    A source served by a fallback (`served_by`) is not failing — its items arrived, it is checked
    again on the usual schedule — but its own way's error stays in `error` for staff, and what
    `fetched` (the fallback's fetch) says about validators or redirects is not the source's.
    """
    ok = error is None
    disable = None
    if fetched.http_status == 410 and not served_by:
        disable = f"HTTP 410 Gone at {fetched.url} on {fetched.fetched_at:%Y-%m-%d}"
    own = not served_by
    return SourceOutcome(
        source_id=fetched.source_id,
        started_at=fetched.fetched_at,
        ok=ok,
        error=error if not ok else primary_error,
        items_new=items_new,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        store_validators=own and ok and fetched.status == "ok",
        permanent_redirect=fetched.permanent_redirect if own and fetched.status in ("ok", "not_modified") else None,
        disable_reason=disable,
        next_check_at=next_check(fetched.fetched_at, ok=ok, failures_before=failures_before),
        served_by=served_by if ok else None,
    )


def sync_sources(con: duckdb.DuckDBPyConnection, catalog: list[Source], *, now: datetime) -> None:
    rows = [
        {"id": s.id, "organisation": s.organisation, "name": s.name, "country": s.country, "kind": s.kind,
         "url": s.url, "language": s.language, "enabled": s.enabled,
         "expected_period_days": s.expected_period_days}
        for s in catalog
    ]
    schema = pa.schema([
        ("id", pa.string()), ("organisation", pa.string()), ("name", pa.string()), ("country", pa.string()),
        ("kind", pa.string()), ("url", pa.string()), ("language", pa.string()), ("enabled", pa.bool_()),
        ("expected_period_days", pa.int32()),
    ])
    with transaction(con):
        run_with(con, "sync_sources", {"now": now}, catalog=pa.Table.from_pylist(rows, schema=schema))


def begin_collect(con: duckdb.DuckDBPyConnection, catalog: list[Source], run_id: str, *,
                  now: datetime) -> dict[str, SourceState]:
    """The catalog synced into `sources`, the run started; every source's state as the run begins."""
    from spacedigest.warehouse import records

    sync_sources(con, catalog, now=now)
    records.start_run(con, run_id, "collect", now)
    return source_states(con)


def choose_sources(catalog: list[Source], states: dict[str, SourceState], *, only: list[str] | None,
                   due_only: bool, now: datetime) -> list[Source]:
    """The sources a collect fetches: enabled (in the catalog and not disabled by a 410), `only`
    those named, and with `due_only` none that is backing off after failures."""
    chosen = []
    for source in catalog:
        state = states.get(source.id)
        if only and source.id not in only:
            continue
        if not source.enabled or (state and not state.enabled):
            continue
        if due_only and state and not state.due(now):
            continue
        chosen.append(source)
    return chosen


def source_states(con: duckdb.DuckDBPyConnection) -> dict[str, SourceState]:
    states = {}
    for sid, url, etag, last_modified, enabled, reason, next_at, failures in con.execute(
        statement("source_states")
    ).fetchall():
        states[sid] = SourceState(sid, url, Validators(etag, last_modified), enabled, reason, next_at, failures)
    return states


_FETCH_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source_id", pa.string()), ("url", pa.string()), ("final_url", pa.string()),
    ("role", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")), ("status", pa.string()), ("http_status", pa.int32()),
    ("etag", pa.string()), ("last_modified", pa.string()), ("content_type", pa.string()), ("bytes", pa.int64()),
    ("items_found", pa.int32()), ("items_new", pa.int32()), ("error", pa.string()), ("duration_ms", pa.float64()),
    ("attempts", pa.int32()), ("capture", pa.string()),
])

_OUTCOME_SCHEMA = pa.schema([
    ("source_id", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")), ("ok", pa.bool_()),
    ("error", pa.string()), ("items_new", pa.int32()), ("etag", pa.string()), ("last_modified", pa.string()),
    ("store_validators", pa.bool_()), ("permanent_redirect", pa.string()), ("disable_reason", pa.string()),
    ("next_check_at", pa.timestamp("us", tz="UTC")), ("served_by", pa.string()),
])


@dataclass(frozen=True)
class SourceLine:
    """What one collect did with one source, as the command prints it."""

    source_id: str
    url: str
    status: str  # ok | not_modified | error
    found: int = 0
    new: int = 0
    error: str | None = None
    served_by: str | None = None  # "fallback: …" when the source's own way failed (why: primary_error)
    primary_error: str | None = None
    http_status: int | None = None  # of the listing request
    seconds: float = 0.0  # collecting it took this long


@dataclass(frozen=True)
class SourceAttention:
    """A source staff should look at (sql/needing_attention.sql)."""

    source_id: str
    organisation: str
    url: str
    state: str
    consecutive_failures: int
    last_success_at: datetime | None
    last_new_item_at: datetime | None
    next_check_at: datetime | None
    reason: str | None


def record_results(con: duckdb.DuckDBPyConnection, run_id: str, results: list[SourceResult],
                   states: dict[str, SourceState], new_items: dict[str, int]) -> list[SourceLine]:
    """The fetch log and each source's health after a collect, in one transaction; a line per source."""
    rows, outcomes, lines = [], [], []
    for r in results:
        new = new_items.get(r.source.id, 0)
        status = "error" if r.error else r.fetched.status
        rows.append(_fetch_row(run_id, r.listing, status=status, error=r.error, items_found=len(r.announcements),
                               items_new=new))
        for a in r.others:
            # what a fallback replaced failed, even when its page loaded (the selectors found nothing)
            failed = a.role == "primary" and r.primary_error is not None
            rows.append(_fetch_row(run_id, a, status="error" if failed else a.fetched.status,
                                   error=r.primary_error if failed else a.fetched.error, items_found=0, items_new=0))
        outcomes.append(outcome(r.fetched, error=r.error, items_new=new,
                                failures_before=states[r.source.id].consecutive_failures,
                                served_by=r.served_by, primary_error=r.primary_error))
        url = r.source.url if r.served_by else r.fetched.url
        lines.append(SourceLine(r.source.id, url, status, len(r.announcements), new, r.error, r.served_by,
                                r.primary_error, r.fetched.http_status, r.seconds))
    record(con, rows, outcomes)
    return lines


def _fetch_row(run_id: str, attempt: Attempt, *, status: str, error: str | None, items_found: int,
               items_new: int) -> dict:
    fetched = attempt.fetched
    return fetch_row(run_id, fetched, status=status, error=error, items_found=items_found, items_new=items_new,
                     capture=attempt.capture, role=attempt.role)


def fetch_row(run_id: str, fetched: Fetched, *, status: str, error: str | None, items_found: int,
              items_new: int, capture: str | None, role: str = "listing") -> dict:
    return {
        "run_id": run_id, "source_id": fetched.source_id, "url": fetched.url, "final_url": fetched.final_url,
        "role": role,
        "started_at": fetched.fetched_at, "status": status, "http_status": fetched.http_status,
        "etag": fetched.etag, "last_modified": fetched.last_modified, "content_type": fetched.content_type,
        "bytes": fetched.bytes, "items_found": items_found, "items_new": items_new, "error": error,
        "duration_ms": round(fetched.duration_s * 1000, 1), "attempts": fetched.attempts, "capture": capture,
    }


def record(con: duckdb.DuckDBPyConnection, fetch_rows: list[dict], outcomes: list[SourceOutcome]) -> None:
    """Write the fetch log and the health updates of one run in one transaction."""
    with transaction(con):
        if fetch_rows:
            run_with(con, "record_fetches", fetch_log=pa.Table.from_pylist(fetch_rows, schema=_FETCH_SCHEMA))
        if outcomes:
            run_with(con, "update_health",
                     outcome=pa.Table.from_pylist([asdict(o) for o in outcomes], schema=_OUTCOME_SCHEMA))


def needing_attention(con: duckdb.DuckDBPyConnection) -> tuple[int, list[SourceAttention]]:
    """(number of sources in the catalog, the ones that are not ok with why)."""
    total = con.execute(statement("health_counts")).fetchall()[0][0]
    return total, [SourceAttention(*row) for row in con.execute(statement("needing_attention")).fetchall()]
