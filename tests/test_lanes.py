"""Lanes (sources.lanes): sources sharded by host into a few lanes, and a lane run against a real
local HTTP server. No Prefect here: the flow's own tests are in test_collect_flow.py."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

from spacedigest.sources import lanes, runtime
from spacedigest.sources.models import Source, SourceResult
from tests.test_e2e import fresh_feed


def job(n: int, host: str) -> lanes.Job:
    url = f"https://{host}/feed{n}.xml"
    return lanes.Job(Source(f"s{n}", "ESA", "feed", url), url)


def catalog(hosts: dict[str, int]) -> list[lanes.Job]:
    """`hosts[h]` sources on host h, listed in an interleaved catalog order."""
    jobs, n = [], 0
    pending = dict(hosts)
    while any(pending.values()):
        for host in hosts:
            if pending[host]:
                jobs.append(job(n, host))
                pending[host] -= 1
                n += 1
    return jobs


def test_every_source_of_a_host_is_in_one_lane_and_every_source_in_exactly_one():
    jobs = catalog({f"h{h}.example": 3 + h % 4 for h in range(20)})
    planned = lanes.plan(jobs, workers=16, per_host=4)
    assert len(planned) == 4  # 16 worker slots / 4 per host
    assert sorted(j.source.id for lane in planned for j in lane.jobs) == sorted(j.source.id for j in jobs)
    owner = {}
    for lane in planned:
        for host in lane.hosts:
            assert owner.setdefault(host, lane.number) == lane.number
    assert all(lane.slots == 4 and lane.threads == 8 for lane in planned)


def test_lanes_carry_about_the_same_number_of_sources():
    """200 feeds over 20 hosts (the bench): 4 lanes of 50; 2,000 feeds over 200 hosts: 500 each."""
    for feeds, hosts in ((200, 20), (2_000, 200)):
        jobs = catalog({f"127.0.0.{h + 1}": feeds // hosts for h in range(hosts)})
        sizes = [len(lane.jobs) for lane in lanes.plan(jobs, workers=16, per_host=4)]
        assert sizes == [feeds // 4] * 4
    uneven = catalog({"big.example": 30, **{f"h{h}.example": 5 for h in range(12)}})
    sizes = [len(lane.jobs) for lane in lanes.plan(uneven, workers=16, per_host=4)]
    assert sizes == [30, 20, 20, 20]  # the big host alone in its lane, the others spread


def test_the_number_of_lanes_does_not_grow_with_the_catalog():
    counts = {feeds: len(lanes.plan(catalog({f"h{h}.example": feeds // 100 for h in range(100)}),
                                   workers=16, per_host=4))
              for feeds in (200, 1_000, 10_000)}
    assert counts == {200: 4, 1_000: 4, 10_000: 4}


def test_never_more_lanes_than_hosts_or_worker_slots():
    one_host = lanes.plan(catalog({"esa.int": 12}), workers=16, per_host=4)
    assert [(len(l.jobs), l.slots) for l in one_host] == [(12, 4)]  # no more requests than the host allows
    assert len(lanes.plan(catalog({f"h{h}": 2 for h in range(40)}), workers=16, per_host=1)) == 16
    assert len(lanes.plan(catalog({f"h{h}": 2 for h in range(40)}), workers=3, per_host=4)) == 1
    few = lanes.plan(catalog({"a": 1, "b": 1}), workers=16, per_host=4)
    assert [(len(l.jobs), l.slots, l.threads) for l in few] == [(1, 1, 1), (1, 1, 1)]  # no idle threads
    assert lanes.plan([], workers=16, per_host=4) == []


def test_a_lane_alternates_between_its_hosts_and_keeps_catalog_order_within_a_host():
    jobs = [job(0, "a"), job(1, "a"), job(2, "a"), job(3, "b"), job(4, "b"), job(5, "c")]
    (lane,) = lanes.plan(jobs, workers=4, per_host=4)
    assert [j.source.id for j in lane.jobs] == ["s0", "s3", "s5", "s1", "s4", "s2"]


def test_the_plan_is_deterministic_and_malformed_urls_still_get_a_lane():
    jobs = catalog({f"h{h}.example": 1 + h % 3 for h in range(9)}) + [job(99, "[broken")]
    assert lanes.plan(jobs, workers=16, per_host=4) == lanes.plan(list(jobs), workers=16, per_host=4)
    assert "s99" in {j.source.id for lane in lanes.plan(jobs, workers=16, per_host=4) for j in lane.jobs}


# --- running a lane ---------------------------------------------------------------------------

def context(**overrides) -> runtime.RunContext:
    fields = dict(run_id=str(uuid.uuid4()), max_workers=8, per_host=2, parse_processes=0, fetch_deadline=20.0)
    fields.update(overrides)
    return runtime.RunContext(**fields)


def served(http_server, n: int, **route) -> list[lanes.Job]:
    jobs = []
    for i in range(n):
        http_server.add(f"/{i}.xml", body=fresh_feed(datetime.now(timezone.utc), n=2, prefix=f"Feed {i}"), **route)
        url = http_server.url(f"/{i}.xml")
        jobs.append(lanes.Job(Source(f"s{i}", "ESA", "feed", url), url))
    return jobs


def test_a_lane_collects_its_sources_concurrently_within_the_host_limit(http_server):
    jobs = served(http_server, 6, delay=0.2)
    ctx = context(per_host=2)
    (lane,) = lanes.plan(jobs, workers=8, per_host=2)
    kept = []

    def keep(result: SourceResult) -> SourceResult:
        kept.append(result.source.id)
        return result

    try:
        results = lanes.run_lane(lane, ctx, keep=keep)
    finally:
        runtime.release(ctx.run_id)
    assert [r.source.id for r in results] == [j.source.id for j in lane.jobs]
    assert all(r.ok and len(r.announcements) == 2 and r.seconds >= 0.2 for r in results)
    assert sorted(kept) == sorted(j.source.id for j in jobs)
    assert http_server.max_in_flight == 2  # more threads than that, but one host allows two


def test_a_lane_has_no_more_requests_in_flight_than_its_slots(http_server):
    """Its threads are twice its slots (some wait for the parse pool), its requests never more."""
    jobs = served(http_server, 8, delay=0.2)
    lane = lanes.Lane(1, tuple(jobs), slots=2)
    ctx = context(per_host=8)
    try:
        results = lanes.run_lane(lane, ctx)
    finally:
        runtime.release(ctx.run_id)
    assert lane.threads == 4 and all(r.ok for r in results)
    assert http_server.max_in_flight == 2


def test_a_source_whose_collection_raises_is_retried_then_fails_alone(http_server, monkeypatch):
    jobs = served(http_server, 4)
    real = runtime.collect
    calls = []
    lock = threading.Lock()

    def broken_for_s1(source, url, validators, ctx, **kwargs):
        with lock:
            calls.append(source.id)
        if source.id == "s1":
            raise RuntimeError("simulated\nbug")
        return real(source, url, validators, ctx, **kwargs)

    monkeypatch.setattr(runtime, "collect", broken_for_s1)
    ctx = context()
    (lane,) = lanes.plan(jobs, workers=4, per_host=4)
    try:
        results = {r.source.id: r for r in lanes.run_lane(lane, ctx)}
    finally:
        runtime.release(ctx.run_id)
    assert calls.count("s1") == lanes.ATTEMPTS == 2
    assert results["s1"].error == "internal error: RuntimeError: simulated bug"
    assert results["s1"].fetched.url == http_server.url("/1.xml") and results["s1"].fetched.status == "error"
    assert all(results[s].ok and len(results[s].announcements) == 2 for s in ("s0", "s2", "s3"))


def test_a_lane_that_crashed_becomes_an_error_for_each_of_its_sources_only():
    lane = lanes.plan([job(0, "a"), job(1, "a")], workers=4, per_host=4)[0]
    results = lanes.results_of(lane, RuntimeError("worker died"))
    assert [(r.source.id, r.error) for r in results] == [
        ("s0", "internal error: RuntimeError: worker died (lane 1 stopped)"),
        ("s1", "internal error: RuntimeError: worker died (lane 1 stopped)")]
    assert lanes.results_of(lane, None)[0].error == "internal error: the lane returned no results (lane 1 stopped)"
    fine = [lanes.failed(j, "x") for j in lane.jobs]
    assert lanes.results_of(lane, fine) is fine

