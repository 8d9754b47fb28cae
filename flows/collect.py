"""The `collect` flow: one Prefect task per source, then one short load into the warehouse.

Wiring only. The write connection is held twice, briefly: to read the sources' state before
the fetches, and to load after them — never while waiting on the network.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.settings import Settings, load_settings
from sources.models import Source, Validators
from sources.pipeline import SourceResult, collect_source
from warehouse import captures, db, health, load, records


@dataclass
class SourceLine:
    source_id: str
    url: str
    status: str  # ok | not_modified | error
    found: int = 0
    new: int = 0
    error: str | None = None


@dataclass
class CollectReport:
    run_id: str
    lines: list[SourceLine] = field(default_factory=list)
    items_new: int = 0
    edited: int = 0
    flow_seconds: float = 0.0

    @property
    def failed(self) -> list[SourceLine]:
        return [line for line in self.lines if line.status == "error"]


@dataclass
class Fetching:
    """What every fetch of one run shares: connection pool, per-host limit, robots.txt cache."""

    session: object
    limiter: object
    robots: object
    policy: object

    @classmethod
    def for_settings(cls, settings: Settings) -> "Fetching":
        from sources import retrieve
        from sources.robots import RobotsCache

        policy = retrieve.DEFAULT_POLICY
        session = retrieve.new_session(policy, pool_size=max(settings.max_workers, 4))
        limiter = retrieve.HostLimiter(per_host=settings.per_host)
        return cls(session, limiter, RobotsCache(session=session, policy=policy, limiter=limiter), policy)


@task(name="collect-source", cache_policy=NO_CACHE, retries=0)
def collect_one(source: Source, url: str, validators: Validators, fetching: Fetching, home: str) -> SourceResult:
    result = collect_source(source, url=url, validators=validators, policy=fetching.policy,
                            session=fetching.session, limiter=fetching.limiter, robots=fetching.robots)
    # Keep every fetched body (content-addressed) so `reprocess` can rebuild without the network.
    for fetched, body in result.bodies:
        try:
            fetched.capture = captures.store(Path(home), body)
        except OSError:
            pass  # a capture is a convenience; never fail a source for it
    result.bodies = []
    return result


def choose_sources(catalog: list[Source], states: dict[str, health.SourceState], *, only: list[str] | None,
                   due_only: bool, now: datetime) -> list[Source]:
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


def load_sources(settings: Settings) -> list[Source]:
    from sources.catalog import load_catalog

    return load_catalog(settings.sources)


@flow(name="collect", log_prints=False)
def collect_flow(only: list[str] | None = None, due_only: bool = False) -> CollectReport:
    """Fetch the enabled sources (`only` these ids; `due_only`: skip those backing off) and load them."""
    settings = load_settings()
    catalog = load_sources(settings)
    started = datetime.now(timezone.utc)
    report = CollectReport(run_id=str(uuid.uuid4()))
    with db.writer(settings.home, publish_copy=False) as con:
        health.sync_sources(con, catalog, now=started)
        states = health.source_states(con)
        records.start_run(con, report.run_id, "collect", started)
    chosen = choose_sources(catalog, states, only=only, due_only=due_only, now=started)

    fetching = Fetching.for_settings(settings)
    futures = [
        collect_one.submit(s, states[s.id].fetch_url, states[s.id].validators, fetching, str(settings.home))
        for s in chosen
    ]
    results: list[SourceResult] = [f.result() for f in futures]

    with db.writer(settings.home) as con:
        stats = load.load_announcements(con, [a for r in results for a in r.announcements], seen_at=started)
        fetch_rows, outcomes = [], []
        for r in results:
            new = stats.new.get(r.source.id, 0)
            found = len(r.announcements)
            status = "error" if r.error else r.fetched.status
            fetch_rows.append(health.fetch_row(report.run_id, r.fetched, status=status, error=r.error,
                                               items_found=found, items_new=new,
                                               capture=r.fetched.capture))
            for role, extra in r.extra_fetches:
                fetch_rows.append(health.fetch_row(report.run_id, extra, status=extra.status, error=extra.error,
                                                   items_found=0, items_new=0, capture=extra.capture, role=role))
            outcomes.append(health.outcome(r.fetched, error=r.error, items_new=new,
                                           failures_before=states[r.source.id].consecutive_failures))
            report.lines.append(SourceLine(r.source.id, r.fetched.url, status, found, new, r.error))
        health.record(con, fetch_rows, outcomes)
        report.items_new = stats.total_new
        report.edited = stats.edited
        report.flow_seconds = (datetime.now(timezone.utc) - started).total_seconds()
        records.finish_run(con, report.run_id, finished_at=datetime.now(timezone.utc),
                           status="partial" if report.failed else "ok",
                           sources_ok=len(report.lines) - len(report.failed), sources_failed=len(report.failed),
                           items_new=report.items_new)
    captures.prune(settings.home, keep_days=settings.capture_days)
    return report
