"""Lanes: a collect's sources sharded by host into a few groups, each run by one orchestrator task.

The orchestrator (Prefect) books every task run it is given: one run per source cost its server
~23 ms of CPU and the client ~3.5 ms, more than the fetches themselves, and grew with the
catalog. So a collect hands it a constant number of lanes instead. A lane is the unit of
placement (one Prefect task, one Dask task); inside it a small thread pool collects its sources,
each through `runtime.collect`, as before, with at most `slots` requests in flight: its share of
SPACEDIGEST_WORKERS. The pool has twice as many threads as slots, so that while some sources
wait for the parse pool others are being fetched (holding a slot while parsing kept the network
idle: 200 feeds took 1.9 s in the lanes against a 1.25 s network bound).

- `plan` is pure: every source of one host goes to the same lane, so the per-host limit
  (SPACEDIGEST_PER_HOST, enforced by the run's HostLimiter) holds inside a lane even when lanes
  run in different processes or on different machines (a redirect to another host aside). Hosts
  are spread so that lanes carry about the same number of sources (largest host first, into the
  lightest lane).
- `run_lane` never fails a source for another's sake: a source whose collection raises (a bug,
  not a bad feed: those come back in the result) is tried once more, then recorded as that
  source's own failure, while the rest of the lane goes on.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from itertools import zip_longest
from typing import Callable
from urllib.parse import urlsplit

from spacedigest.sources import runtime
from spacedigest.sources.models import Attempt, Fetched, Source, SourceResult, Validators

# A source whose collection raises is tried this many times in all before it is recorded as failed.
ATTEMPTS = 2


@dataclass(frozen=True)
class Job:
    """One source to collect: where to fetch it now and what to revalidate with."""

    source: Source
    url: str
    validators: Validators = Validators()


@dataclass(frozen=True)
class Lane:
    number: int  # 1, 2, ...
    jobs: tuple[Job, ...]
    slots: int  # requests in flight at once in this lane

    @property
    def threads(self) -> int:
        """Sources in progress at once: fetching (one slot each) or being parsed."""
        return min(len(self.jobs), 2 * self.slots)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(host_of(job.url) for job in self.jobs))


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # a malformed URL still needs a lane; retrieval reports it
        return ""


def lane_count(*, workers: int, per_host: int, hosts: int) -> int:
    """How many lanes: one per `per_host` worker slots, so each lane can give a host its whole
    allowance of connections (16 workers, 4 per host: 4 lanes), never more lanes than hosts."""
    return max(1, min(hosts, workers // max(per_host, 1)))


def plan(jobs: list[Job], *, workers: int, per_host: int) -> list[Lane]:
    """Shard `jobs` by host into at most `workers // per_host` lanes. Pure and deterministic.

    Within a lane, jobs alternate between its hosts (catalog order within a host), so the
    lane's threads are not all queued on one host's limit while the others wait."""
    by_host: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_host[host_of(job.url)].append(job)
    count = lane_count(workers=workers, per_host=per_host, hosts=len(by_host))
    shards: list[list[list[Job]]] = [[] for _ in range(count)]
    for host in sorted(by_host, key=lambda h: (-len(by_host[h]), h)):
        lightest = min(range(count), key=lambda n: (sum(map(len, shards[n])), n))
        shards[lightest].append(by_host[host])
    share = max(1, workers // count)
    lanes = []
    for groups in shards:
        if groups:
            interleaved = tuple(job for row in zip_longest(*groups) for job in row if job is not None)
            # no more requests in flight than the lane's hosts may serve at once, nor than it has sources
            useful = sum(min(len(group), max(per_host, 1)) for group in groups)
            lanes.append(Lane(len(lanes) + 1, interleaved, min(share, useful)))
    return lanes


def run_lane(lane: Lane, ctx: runtime.RunContext,
             keep: Callable[[SourceResult], SourceResult] | None = None) -> list[SourceResult]:
    """Collect every source of the lane, `lane.slots` requests at a time, in the lane's order. `keep`
    is applied to each result as soon as it is ready (to store the fetched bodies and drop them
    from memory). Never raises for one source's sake."""
    slots = threading.BoundedSemaphore(lane.slots)

    def one(job: Job) -> SourceResult:
        return collect_guarded(job, ctx, keep, slots)

    if lane.threads <= 1:
        return [one(job) for job in lane.jobs]
    with ThreadPoolExecutor(lane.threads, thread_name_prefix=f"lane-{lane.number}") as pool:
        return list(pool.map(one, lane.jobs))


def collect_guarded(job: Job, ctx: runtime.RunContext, keep: Callable[[SourceResult], SourceResult] | None = None,
                    slots: threading.Semaphore | None = None) -> SourceResult:
    """One source; a collection that raises is tried again, then becomes the source's error."""
    started = time.monotonic()
    error: Exception | None = None
    for _ in range(ATTEMPTS):
        try:
            result = runtime.collect(job.source, job.url, job.validators, ctx, slots=slots)
            result = replace(result, seconds=round(time.monotonic() - started, 3))
            return keep(result) if keep else result
        except Exception as exc:  # noqa: BLE001 - a bug must cost one source, never the lane
            error = exc
    return failed(job, internal_error(error), seconds=time.monotonic() - started)


def internal_error(exc: BaseException) -> str:
    """A bug, in one line: what raised and its message."""
    return f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def failed(job: Job, reason: str, *, seconds: float = 0.0) -> SourceResult:
    """A source's result when its collection could not run at all (`reason`: one line)."""
    fetched = Fetched(job.source.id, job.url, "error", datetime.now(timezone.utc), error=reason)
    return SourceResult(job.source, Attempt("listing", fetched), error=reason, seconds=round(seconds, 3))


def results_of(lane: Lane, outcome: object) -> list[SourceResult]:
    """What a lane task came back with, one result per source: its results, or, when the lane
    itself crashed (`outcome` is the exception), that reason as the error of each of its sources."""
    if isinstance(outcome, list) and len(outcome) == len(lane.jobs) \
            and all(isinstance(r, SourceResult) for r in outcome):
        return outcome
    reason = internal_error(outcome) if isinstance(outcome, BaseException) else \
        "internal error: the lane returned no results"
    return [failed(job, f"{reason} (lane {lane.number} stopped)") for job in lane.jobs]
