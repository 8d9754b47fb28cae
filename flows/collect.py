"""The `collect` flow: one Prefect task per source, then one short load into the warehouse.

Wiring only: the pipeline (sources.pipeline), where it runs (sources.runtime), the captures,
the load and the health record (warehouse) do the work. The write connection is held twice,
briefly: to read the sources' state before the fetches, and to load after them — never while
waiting on the network.

- One task per source, so each source has its own state, timing and retry in the Prefect UI; a
  task that fails unexpectedly is retried once and then recorded as that source's failure.
- Fetches run on Prefect's thread-pool task runner, `SPACEDIGEST_WORKERS` at once; with
  `SPACEDIGEST_TASK_RUNNER=dask` on a Dask cluster through prefect-dask instead
  (`SPACEDIGEST_DASK_ADDRESS`, or a local cluster when unset). The choice is read when a run
  starts (flows.runners), not when this module is imported.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from spacedigest.flows.runners import ChosenWhenRunStarts
from spacedigest.flows.settings import Settings, load_settings
from spacedigest.sources import runtime
from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.models import Attempt, Fetched, Source, SourceResult, Validators
from spacedigest.warehouse import captures, db, health, load, records
from spacedigest.warehouse.health import SourceLine


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

    @property
    def served_by_fallback(self) -> list[SourceLine]:
        """Sources whose own way failed but whose items a fallback brought: loaded, yet needing a fix."""
        return [line for line in self.lines if line.served_by]

    @property
    def needs_attention(self) -> bool:
        return bool(self.failed or self.served_by_fallback)


@task(name="collect-source", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def collect_one(source: Source, url: str, validators: Validators, ctx: runtime.RunContext, home: str) -> SourceResult:
    """A source's own problems come back in the result; only a bug raises (and is retried once).
    Every fetched body is kept (content-addressed) so `reprocess` can rebuild without the network."""
    return captures.keep_bodies(Path(home), runtime.collect(source, url, validators, ctx))


def _fan_out(chosen: list[Source], states: dict[str, health.SourceState], ctx: runtime.RunContext,
             home: Path) -> list[SourceResult]:
    """One task per source, results in catalog order. A task that still fails after its retry
    becomes that source's error: one bad source never stops the run."""
    futures = [collect_one.submit(s, states[s.id].fetch_url, states[s.id].validators, ctx, str(home)) for s in chosen]
    results = []
    for source, future in zip(chosen, futures):
        outcome = future.result(raise_on_failure=False)
        if not isinstance(outcome, SourceResult):
            reason = f"internal error: {type(outcome).__name__}: {' '.join(str(outcome).split())[:300]}"
            fetched = Fetched(source.id, states[source.id].fetch_url, "error", datetime.now(timezone.utc), error=reason)
            outcome = SourceResult(source, Attempt("listing", fetched), error=reason)
        results.append(outcome)
    return results


def run_context(settings: Settings, run_id: str, chosen: list[Source]) -> runtime.RunContext:
    # Dask already spreads the work over processes
    processes = 0 if settings.task_runner == "dask" else runtime.parse_processes(settings.parse_processes, len(chosen))
    return runtime.RunContext(run_id, settings.max_workers, settings.per_host, processes, settings.fetch_deadline)


@flow(name="collect", log_prints=False, task_runner=ChosenWhenRunStarts())
def collect_flow(only: list[str] | None = None, due_only: bool = False) -> CollectReport:
    """Fetch the enabled sources (`only` these ids; `due_only`: skip those backing off) and load them."""
    settings = load_settings()
    catalog = load_catalog(settings.sources)
    started = datetime.now(timezone.utc)
    report = CollectReport(run_id=str(uuid.uuid4()))
    with db.writer(settings.home, publish_copy=False) as con:
        states = health.begin_collect(con, catalog, report.run_id, now=started)
    chosen = health.choose_sources(catalog, states, only=only, due_only=due_only, now=started)
    try:
        results = _fan_out(chosen, states, run_context(settings, report.run_id, chosen), settings.home)
    finally:
        runtime.release(report.run_id)

    with db.writer(settings.home) as con:
        stats = load.load_announcements(con, [a for r in results for a in r.announcements], seen_at=started)
        report.lines = health.record_results(con, report.run_id, results, states, stats.new)
        report.items_new, report.edited = stats.total_new, stats.edited
        report.flow_seconds = (datetime.now(timezone.utc) - started).total_seconds()
        records.finish_run(con, report.run_id, finished_at=datetime.now(timezone.utc),
                           status="partial" if report.needs_attention else "ok",
                           sources_ok=len(report.lines) - len(report.failed), sources_failed=len(report.failed),
                           items_new=report.items_new)
    captures.prune(settings.home, keep_days=settings.capture_days)
    return report
