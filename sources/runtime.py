"""Where a collect's work runs: the resources one run shares, and the process pool for parsing.

- Every fetch of a run shares one `HttpRetriever` (connection pool, per-host limits, robots.txt
  answers). Tasks find it by the run's id, so the same task also runs on a Dask worker in another
  process, which then builds its own (`RunContext` is small and picklable).
- Parsing and classification are CPU-bound and threads do not run Python in parallel, so for a
  catalog of 20 sources or more the interpretation goes to a process pool, one process per core
  when there is more than one (`SPACEDIGEST_PARSE_PROCESSES=N` sets it; 0 interprets in the
  fetching threads). Measured on 2 cores, 200 feeds: flow 15.3 s -> 12.4 s; on a machine already
  saturated by other work the pool cannot help and costs a little (25.1 s against 16.5 s).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import BrokenExecutor, Executor
from contextlib import contextmanager
from dataclasses import dataclass, replace

from spacedigest.sources.models import Source, SourceResult, Validators
from spacedigest.sources.pipeline import collect_source

# Starting the pool costs about a second of imports; a small catalog parses faster in place.
MIN_SOURCES_FOR_POOL = 20


@dataclass(frozen=True)
class RunContext:
    """What a task needs to find its run's shared resources."""

    run_id: str
    max_workers: int
    per_host: int
    parse_processes: int
    fetch_deadline: float


def collect(source: Source, url: str, validators: Validators, ctx: RunContext, *,
            slots: threading.Semaphore | None = None) -> SourceResult:
    """One source, with this process's resources for the run; each request waits for one of
    `slots` when given (a lane's share of the run's fetches). Never raises for the source's problems."""
    retriever, pool = _resources(ctx)
    if slots is not None:
        retriever = _WithinSlots(retriever, slots)
    return collect_source(source, retriever=retriever, url=url, validators=validators, offload=_offload_to(pool))


class _WithinSlots:
    """A retriever whose requests each hold one of `slots` while in flight. The wait for a slot,
    like the wait for a host's, is not charged to the fetch's deadline."""

    def __init__(self, retriever, slots: threading.Semaphore):
        self.retriever, self.slots = retriever, slots

    def fetch(self, source_id: str, request, validators: Validators | None = None):
        with self.slots:
            return self.retriever.fetch(source_id, request, validators)

    def allowed(self, url: str) -> tuple[bool, str | None]:
        with self.slots:  # may fetch robots.txt
            return self.retriever.allowed(url)


def parse_processes(configured: int | None, sources: int) -> int:
    """Parse processes for a run with `sources` sources to fetch (`configured`: the setting)."""
    if configured is not None:
        return configured
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores > 1 and sources >= MIN_SOURCES_FOR_POOL else 0


_shared_lock = threading.Lock()
_shared: dict[str, tuple[object, Executor | None]] = {}


def _resources(ctx: RunContext):
    """This process's retriever and parse pool for the run (created on first use)."""
    with _shared_lock:
        if ctx.run_id not in _shared:
            for stale in list(_shared):  # a long-lived Dask worker: keep only the current run's
                _close(_shared.pop(stale))
            from spacedigest.sources import retrieve

            policy = replace(retrieve.DEFAULT_POLICY, deadline=ctx.fetch_deadline)
            retriever = retrieve.HttpRetriever(policy=policy, pool_size=max(ctx.max_workers, 4), per_host=ctx.per_host)
            _shared[ctx.run_id] = (retriever, _parse_pool(ctx.parse_processes))
        return _shared[ctx.run_id]


def release(run_id: str) -> None:
    """Close the run's connections and stop its parse pool."""
    with _shared_lock:
        resources = _shared.pop(run_id, None)
    if resources:
        _close(resources)


def _close(resources) -> None:
    retriever, pool = resources
    try:
        retriever.close()
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _parse_pool(processes: int) -> Executor | None:
    if processes <= 0:
        return None
    import multiprocessing
    import multiprocessing.forkserver
    from concurrent.futures import ProcessPoolExecutor

    # forkserver: never fork this process (Prefect's threads hold locks); the server imports the
    # parsing modules and compiles the rules once (sources.warm), so each worker starts warm. It
    # starts now, while the first pages are fetched, rather than when the first one is parsed.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["spacedigest.sources.pipeline", "spacedigest.sources.feed", "feedparser",
                                    "spacedigest.sources.fastfeed", "spacedigest.sources.normalize",
                                    "spacedigest.sources.classify", "spacedigest.sources.warm"])
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
    multiprocessing.forkserver.ensure_running()
    return pool


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
