"""The `collect` flow: plan, a few lanes, load, health. Wiring only.

The work is elsewhere: the pipeline (sources.pipeline), the lanes and where they run
(sources.lanes, sources.runtime), the captures, the load and the health record (warehouse), the
run's report (reports.staff). The write connection is held briefly, by the plan step (the sources'
state before the fetches) and by the load and health steps — never while waiting on the network.

- Prefect orchestrates stages, it does not book-keep every HTTP request. A collect is a constant
  handful of task runs, whatever the size of the catalog: `plan`, one `lane` per group of hosts,
  `load`, `health` (7 with the default settings: 4 lanes). One task run per source used to cost
  the Prefect server ~23 ms of CPU and its client ~3.5 ms each, more than the fetches, and it
  would flood the Prefect database at thousands of sources.
- A lane is a shard of the sources by host: every source of one host is in the same lane, so the
  per-host limit holds inside it. There are SPACEDIGEST_WORKERS / SPACEDIGEST_PER_HOST lanes
  (never more than hosts), each fetching SPACEDIGEST_PER_HOST-or-so sources at once.
- Every source stays visible in the Prefect UI: the run publishes a table artifact (source,
  status, HTTP status, found, new, error, duration) and a Markdown artifact of the failures with
  their reasons; the warehouse keeps the `fetches` log and source health as before.
- A source's own problems come back in its result. A source whose collection raises (a bug) is
  tried once more, then recorded as that source's failure; a lane that crashes fails its own
  sources only. The others load either way. Transient network trouble is retried by the
  retrieval layer; `spacedigest collect --source ID` re-collects one source by hand.
- Lanes run on Prefect's thread-pool task runner; with `SPACEDIGEST_TASK_RUNNER=dask` as Dask
  tasks through prefect-dask (`SPACEDIGEST_DASK_ADDRESS`, or a local cluster when unset). The
  choice is read when a run starts (flows.runners), not when this module is imported.
- The flow is async only so that Prefect does not hold each run until its heartbeat thread's next
  one-second tick (see `collect_flow`); every step is a sync task. Call it with `asyncio.run`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import SyncClientContext
from prefect.utilities.annotations import quote

from spacedigest.flows.runners import ChosenWhenRunStarts
from spacedigest.flows.settings import Settings, load_settings
from spacedigest.reports import staff
from spacedigest.sources import lanes, runtime
from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.models import SourceResult
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


@dataclass
class CollectPlan:
    run_id: str
    started: datetime
    states: dict[str, health.SourceState]
    lanes: list[lanes.Lane]
    order: list[str]  # the chosen sources' ids, in catalog order


@task(name="plan", cache_policy=NO_CACHE)
def plan_task(settings: Settings, only: list[str] | None, due_only: bool) -> CollectPlan:
    """Sync the catalog, start the run, choose the sources and shard them into lanes."""
    catalog = load_catalog(settings.sources)
    started, run_id = datetime.now(timezone.utc), str(uuid.uuid4())
    with db.writer(settings.home, publish_copy=False) as con:
        states = health.begin_collect(con, catalog, run_id, now=started)
    chosen = health.choose_sources(catalog, states, only=only, due_only=due_only, now=started)
    jobs = [lanes.Job(s, states[s.id].fetch_url, states[s.id].validators) for s in chosen]
    return CollectPlan(run_id, started, states, lanes.plan(jobs, workers=settings.max_workers,
                                                           per_host=settings.per_host), [s.id for s in chosen])


@task(name="lane", task_run_name="lane-{lane.number}", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def lane_task(lane: lanes.Lane, ctx: runtime.RunContext, home: str) -> list[SourceResult]:
    """The lane's sources; each fetched body is kept (content-addressed) as soon as it is parsed,
    so `reprocess` can rebuild without the network and memory holds no bodies."""
    return lanes.run_lane(lane, ctx, keep=partial(captures.keep_bodies, Path(home)))


@task(name="load", cache_policy=NO_CACHE)
def load_task(settings: Settings, results: list[SourceResult], seen_at: datetime) -> load.LoadStats:
    with db.writer(settings.home, publish_copy=False) as con:
        return load.load_announcements(con, [a for r in results for a in r.announcements], seen_at=seen_at)


@task(name="health", cache_policy=NO_CACHE)
def health_task(settings: Settings, plan: CollectPlan, results: list[SourceResult],
                stats: load.LoadStats) -> CollectReport:
    """The fetch log, each source's health and the run's record; then the staff copy is published."""
    report = CollectReport(plan.run_id, items_new=stats.total_new, edited=stats.edited)
    with db.writer(settings.home) as con:
        report.lines = health.record_results(con, plan.run_id, results, plan.states, stats.new)
        report.flow_seconds = (datetime.now(timezone.utc) - plan.started).total_seconds()
        records.finish_run(con, plan.run_id, finished_at=datetime.now(timezone.utc),
                           status="partial" if report.needs_attention else "ok",
                           sources_ok=len(report.lines) - len(report.failed), sources_failed=len(report.failed),
                           items_new=report.items_new)
    captures.prune(settings.home, keep_days=settings.capture_days)
    return report


def run_context(settings: Settings, run_id: str, sources: int) -> runtime.RunContext:
    # Dask already spreads the work over processes
    processes = 0 if settings.task_runner == "dask" else runtime.parse_processes(settings.parse_processes, sources)
    return runtime.RunContext(run_id, settings.max_workers, settings.per_host, processes, settings.fetch_deadline)


def _run_lanes(plan: CollectPlan, ctx: runtime.RunContext, home: Path) -> list[SourceResult]:
    """Every lane on the task runner; results in catalog order, one per chosen source."""
    futures = [lane_task.submit(lane, ctx, str(home)) for lane in plan.lanes]
    by_id = {r.source.id: r for lane, future in zip(plan.lanes, futures)
             for r in lanes.results_of(lane, future.result(raise_on_failure=False))}
    return [by_id[source_id] for source_id in plan.order]


@flow(name="collect", log_prints=False, task_runner=ChosenWhenRunStarts())
async def collect_flow(only: list[str] | None = None, due_only: bool = False) -> CollectReport:
    """Fetch the enabled sources (`only` these ids; `due_only`: skip those backing off) and load them.

    Async only for how Prefect ends the run: its sync engine joins the run's heartbeat thread,
    which sleeps in one-second steps, so every run ended on that thread's next tick (up to 1 s
    lost each time, whatever was gained within that second); the async engine keeps the
    heartbeats and does not wait. The steps are sync tasks sharing one Prefect client, as they do
    under the sync engine."""
    settings = load_settings()
    with SyncClientContext.get_or_create():
        plan = plan_task(settings, only, due_only)
        try:
            results = _run_lanes(plan, run_context(settings, plan.run_id, len(plan.order)), settings.home)
        finally:
            runtime.release(plan.run_id)
        # quote(): Prefect would otherwise walk every announcement (and every source's state)
        # looking for futures among the inputs
        stats = load_task(settings, quote(results), plan.started)
        report = health_task(settings, quote(plan), quote(results), stats)
    await acreate_table_artifact(staff.collect_table(report.lines), key="collect-sources",
                                 description=f"collect {report.run_id}: every source, its status and how long it took")
    await acreate_markdown_artifact(staff.collect_failures(report.lines), key="collect-failures",
                                    description=f"collect {report.run_id}: failed sources and why")
    return report
