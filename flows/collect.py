"""The `collect` flow: one Prefect task per source, then one short load into the warehouse.

Wiring only. The write connection is held twice, briefly: to read the sources' state before
the fetches, and to load after them — never while waiting on the network.

Where the work runs (measured in bench/collect.py, figures in bench/README.md):
- fetches run on Prefect's thread-pool task runner, `SPACEDIGEST_WORKERS` at once; with
  `SPACEDIGEST_TASK_RUNNER=dask` they run on a Dask cluster through prefect-dask instead
  (`SPACEDIGEST_DASK_ADDRESS`, or a local cluster when unset): the scale-out path;
- one Prefect task per source, so each source has its own state, timing and retry in the Prefect
  UI; a task that fails unexpectedly is retried once and then recorded as that source's failure;
- feed parsing and classification are CPU-bound and threads do not run Python in parallel, so for
  a catalog of 20 feeds or more they go to a process pool, one process per core when there is more
  than one (`SPACEDIGEST_PARSE_PROCESSES=N` sets it; 0 parses in the fetching threads). Measured on
  2 cores, 200 feeds: flow 15.3 s -> 12.4 s; on a machine already saturated by other work the pool
  cannot help and costs a little (25.1 s against 16.5 s).
"""
from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import BrokenExecutor, Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from spacedigest.flows.settings import Settings, load_settings
from spacedigest.sources.models import Fetched, Source, Validators
from spacedigest.sources.pipeline import SourceResult, collect_source
from spacedigest.warehouse import captures, db, health, load, records


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
    def create(cls, max_workers: int, per_host: int, deadline: float) -> "Fetching":
        from dataclasses import replace

        from spacedigest.sources import retrieve
        from spacedigest.sources.robots import RobotsCache

        policy = replace(retrieve.DEFAULT_POLICY, deadline=deadline)
        session = retrieve.new_session(policy, pool_size=max(max_workers, 4))
        limiter = retrieve.HostLimiter(per_host=per_host)
        return cls(session, limiter, RobotsCache(session=session, policy=policy, limiter=limiter), policy)


@dataclass(frozen=True)
class RunContext:
    """What a task needs to find its run's shared resources. Small and picklable, so the same task
    runs on a Dask worker in another process, which then builds its own connection pool."""

    run_id: str
    home: str
    max_workers: int
    per_host: int
    parse_processes: int
    fetch_deadline: float


_shared_lock = threading.Lock()
_shared: dict[str, tuple[Fetching, Executor | None]] = {}


def _resources(ctx: RunContext) -> tuple[Fetching, Executor | None]:
    """This process's fetching resources and parse pool for the run (created on first use)."""
    with _shared_lock:
        if ctx.run_id not in _shared:
            for stale in list(_shared):  # a long-lived Dask worker: keep only the current run's
                _close(_shared.pop(stale))
            _shared[ctx.run_id] = (Fetching.create(ctx.max_workers, ctx.per_host, ctx.fetch_deadline),
                                   _parse_pool(ctx.parse_processes))
        return _shared[ctx.run_id]


def _release(run_id: str) -> None:
    with _shared_lock:
        resources = _shared.pop(run_id, None)
    if resources:
        _close(resources)


def _close(resources: tuple[Fetching, Executor | None]) -> None:
    fetching, pool = resources
    try:
        fetching.session.close()
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _parse_pool(processes: int) -> Executor | None:
    if processes <= 0:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # forkserver: never fork this process (Prefect's threads hold locks); the server imports the
    # parsing modules once, so each worker starts warm.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["spacedigest.sources.pipeline", "spacedigest.sources.feed", "spacedigest.sources.normalize", "spacedigest.sources.classify"])
    return ProcessPoolExecutor(max_workers=processes, mp_context=context)


def parse_processes(settings: Settings, feeds: int) -> int:
    """Parse processes for a run with `feeds` feed sources to fetch."""
    raw = os.environ.get("SPACEDIGEST_PARSE_PROCESSES", "").strip()
    if settings.task_runner == "dask":
        return 0  # Dask already spreads the work over processes
    if raw.isdigit():
        return int(raw)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # Starting the pool costs about a second of imports; a small catalog parses faster in place.
    return cores if cores > 1 and feeds >= MIN_FEEDS_FOR_POOL else 0


MIN_FEEDS_FOR_POOL = 20


def _offload_to(pool: Executor | None):
    """Run a CPU-bound call in the parse pool; in place when there is none or it broke, rather
    than fail the source."""
    if pool is None:
        return None

    def offload(fn, *args):
        try:
            with _spawning_without_main():
                future = pool.submit(fn, *args)  # may start a worker process
            return future.result()
        except BrokenExecutor:
            return fn(*args)

    return offload


_spawn_lock = threading.Lock()


@contextmanager
def _spawning_without_main():
    """While a parse worker starts, `__main__` presents itself as a module named "__main__", which
    multiprocessing's children never import. Otherwise each worker would re-run the program that
    called the flow: a script without an `if __name__ == "__main__"` guard would run the whole
    collect again in every worker (and `prefect.engine` would be imported twice over). Workers
    only need the parsing modules, which the fork server has already loaded."""
    import importlib.machinery
    import sys

    main = sys.modules.get("__main__")
    with _spawn_lock:
        if main is None:
            yield
            return
        saved = main.__dict__.get("__spec__")
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
        try:
            yield
        finally:
            main.__spec__ = saved


@task(name="collect-source", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def collect_one(source: Source, url: str, validators: Validators, ctx: RunContext) -> SourceResult:
    """A source's own problems come back in the result; only a bug raises (and is retried once)."""
    return _collect(source, url, validators, ctx)


def _collect(source: Source, url: str, validators: Validators, ctx: RunContext) -> SourceResult:
    fetching, pool = _resources(ctx)
    home = ctx.home
    result = collect_source(source, url=url, validators=validators, policy=fetching.policy,
                            session=fetching.session, limiter=fetching.limiter, robots=fetching.robots,
                            offload=_offload_to(pool))
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
    from spacedigest.sources.catalog import load_catalog

    return load_catalog(settings.sources)


def _fan_out(chosen: list[Source], states: dict[str, health.SourceState], ctx: RunContext) -> list[SourceResult]:
    """One task per source, results in catalog order. A task that still fails after its retry
    becomes that source's error: one bad source never stops the run."""
    futures = [collect_one.submit(s, states[s.id].fetch_url, states[s.id].validators, ctx) for s in chosen]
    results = []
    for source, future in zip(chosen, futures):
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, SourceResult):
            results.append(outcome)
            continue
        reason = " ".join(str(outcome).split())[:300]
        fetched = Fetched(source.id, states[source.id].fetch_url, "error", datetime.now(timezone.utc),
                          error=f"internal error: {type(outcome).__name__}: {reason}")
        results.append(SourceResult(source, fetched, error=fetched.error))
    return results


def task_runner_for(settings: Settings):
    """The task runner of the collect flow: Prefect's thread pool, or Dask through prefect-dask."""
    if settings.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise SystemExit("spacedigest: SPACEDIGEST_TASK_RUNNER=dask needs the dask extra "
                             "(pip install 'spacedigest[dask]')") from None
        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": 1, "processes": False,
                                              "threads_per_worker": settings.max_workers})
    if settings.task_runner != "threads":
        raise SystemExit(f"spacedigest: SPACEDIGEST_TASK_RUNNER={settings.task_runner!r} is not threads or dask")
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=settings.max_workers)


@flow(name="collect", log_prints=False, task_runner=task_runner_for(load_settings()))
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

    ctx = RunContext(report.run_id, str(settings.home), settings.max_workers, settings.per_host,
                     parse_processes(settings, sum(s.kind == "feed" for s in chosen)), settings.fetch_deadline)
    try:
        results = _fan_out(chosen, states, ctx)
    finally:
        _release(report.run_id)

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
