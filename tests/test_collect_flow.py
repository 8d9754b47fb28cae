"""The collect flow itself, in this process, against a real Prefect server: a handful of task runs
(plan, lanes, load, health) whatever the catalog's size, every source in the run's table artifact,
and a bug that breaks one source (or a whole lane) failing only the sources it touched."""
from __future__ import annotations

import asyncio
import json
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from tests.test_e2e import catalog_toml, fresh_feed


@contextmanager
def prefect_at(url):
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_LOGGING_TO_API_ENABLED: False}):
        yield


def two_hosts(tmp_path, monkeypatch, http_server, *, healthy: int, broken: int) -> None:
    """`healthy` feeds on 127.0.0.1 and `broken` feeds on localhost: two hosts, so two lanes."""
    now = datetime.now(timezone.utc)
    entries = []
    for n in range(healthy + broken):
        http_server.add(f"/{n}.xml", body=fresh_feed(now, n=2, prefix=f"Feed {n}"))
        url = http_server.url(f"/{n}.xml")
        if n >= healthy:
            entries.append((f"broken-{n}", "ESA", url.replace("127.0.0.1", "localhost")))
        else:
            entries.append((f"healthy-{n}", "ESA", url))
    (tmp_path / "c.toml").write_text(catalog_toml(entries))
    monkeypatch.setenv("SPACEDIGEST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPACEDIGEST_SOURCES", str(tmp_path / "c.toml"))


def test_a_source_whose_collection_raises_is_retried_then_fails_alone(tmp_path, monkeypatch, http_server,
                                                                       prefect_api):
    import spacedigest.flows.collect as collect

    two_hosts(tmp_path, monkeypatch, http_server, healthy=2, broken=1)
    calls = []
    real = collect.runtime.collect

    def sometimes_broken(source, url, validators, ctx, **kwargs):
        calls.append(source.id)
        if source.id == "broken-2":
            raise RuntimeError("simulated bug")
        return real(source, url, validators, ctx, **kwargs)

    monkeypatch.setattr(collect.runtime, "collect", sometimes_broken)
    with prefect_at(prefect_api):
        report = asyncio.run(collect.collect_flow())
    lines = {line.source_id: line for line in report.lines}
    assert lines["healthy-0"].status == "ok" and lines["healthy-0"].new == 2
    assert lines["healthy-1"].status == "ok" and lines["healthy-1"].new == 2
    assert lines["broken-2"].status == "error"
    assert lines["broken-2"].error == "internal error: RuntimeError: simulated bug"
    assert calls.count("broken-2") == 2  # retried once
    assert calls.count("healthy-0") == 1  # the others are not collected again


def test_a_lane_that_crashes_fails_only_its_own_sources(tmp_path, monkeypatch, http_server, prefect_api):
    import spacedigest.flows.collect as collect

    two_hosts(tmp_path, monkeypatch, http_server, healthy=3, broken=2)
    real = collect.lanes.run_lane

    def crashing_on_localhost(lane, ctx, keep=None):
        if "localhost" in lane.hosts:
            raise MemoryError("simulated crash")
        return real(lane, ctx, keep)

    monkeypatch.setattr(collect.lanes, "run_lane", crashing_on_localhost)
    with prefect_at(prefect_api):
        report = asyncio.run(collect.collect_flow())
    lines = {line.source_id: line for line in report.lines}
    assert [lines[f"healthy-{n}"].status for n in range(3)] == ["ok"] * 3 and report.items_new == 6
    for n in (3, 4):
        assert lines[f"broken-{n}"].status == "error"
        assert lines[f"broken-{n}"].error.startswith("internal error: MemoryError: simulated crash (lane ")


def _settled(read, done, timeout: float = 30.0):
    """The server records task runs from events, a moment after the flow returns: poll."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_the_prefect_ui_shows_one_flow_run_a_handful_of_task_runs_and_every_source(tmp_path, monkeypatch,
                                                                                    http_server, prefect_api):
    """40 sources over two hosts, one failing: 5 task runs (plan, 2 lanes, load, health), no
    subflow, and the run's artifacts list every source with its status and the failure's reason."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId,
    )

    import spacedigest.flows.collect as collect

    two_hosts(tmp_path, monkeypatch, http_server, healthy=30, broken=10)
    http_server.add("/39.xml", status=500, body="down")  # a source of the second lane fails for real
    with prefect_at(prefect_api):
        state = asyncio.run(collect.collect_flow(return_state=True))
        report = state.result()
        run_id = state.state_details.flow_run_id
        with get_client(sync_client=True) as client:
            this_run = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            tasks = _settled(lambda: client.read_task_runs(flow_run_filter=this_run),
                             lambda runs: len(runs) >= 5 and all(r.state and r.state.is_final() for r in runs))
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])))
            artifacts = {a.key: a for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))}
            flow = client.read_flow(client.read_flow_run(run_id).flow_id)

    assert flow.name == "collect" and state.is_completed()
    # task run names are "<task>-<suffix>"; lanes are named "lane-<number>"
    assert sorted(t.name.rsplit("-", 1)[0] for t in tasks) == ["health", "lane", "lane", "load", "plan"]
    assert all(t.state.is_completed() for t in tasks)
    assert children == []  # one collect flow run, no subflows

    table = artifacts["collect-sources"]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data  # a JSON string in Prefect 3
    assert table.type == "table" and len(rows) == 40
    by_source = {row["source"]: row for row in rows}
    assert set(by_source) == {line.source_id for line in report.lines}
    assert by_source["healthy-0"]["status"] == "ok" and by_source["healthy-0"]["new"] == 2
    assert by_source["healthy-0"]["found"] == 2 and by_source["healthy-0"]["http_status"] == 200
    assert by_source["broken-39"]["status"] == "error" and by_source["broken-39"]["http_status"] == 500
    assert "HTTP 500" in by_source["broken-39"]["error"]
    assert all(row["duration_s"] >= 0 for row in rows)

    failures = artifacts["collect-failures"]
    assert failures.type == "markdown"
    assert "1 of 40 sources failed" in failures.data and "broken-39" in failures.data and "HTTP 500" in failures.data
    assert "healthy-0" not in failures.data


def test_collect_source_id_re_collects_that_one_source_by_hand(cli, http_server, tmp_path):
    """A source that failed is collected again by hand, alone: one source in the run, its items loaded."""
    now = datetime.now(timezone.utc)
    for n in range(3):
        http_server.add(f"/{n}.xml", body=fresh_feed(now, n=2, prefix=f"Feed {n}"), etag=f'"v{n}"')
    http_server.add("/1.xml", status=503, body="maintenance")
    catalog = tmp_path / "c.toml"
    catalog.write_text(catalog_toml([(f"s{n}", "ESA", http_server.url(f"/{n}.xml")) for n in range(3)]))
    env = {"SPACEDIGEST_SOURCES": str(catalog)}
    first = cli("collect", env=env)
    assert first.returncode == 3 and "FAILED s1" in first.stdout and "4 new items" in first.stdout

    http_server.add("/1.xml", body=fresh_feed(now, n=2, prefix="Feed 1"), etag='"v1"')  # back
    again = cli("collect", "--source", "s1", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "collect: 1 sources, 1 ok, 0 failed; 2 new items" in again.stdout
    assert http_server.hits["/0.xml"] == 1 and http_server.hits["/2.xml"] == 1  # the others were left alone
    rows = json.loads(cli("query", "select source_id, status from fetches where run_id = (select id from runs "
                                   "where kind = 'collect' order by started_at desc limit 1)", "--format", "json").stdout)
    assert rows == [{"source_id": "s1", "status": "ok"}]


UNGUARDED_SCRIPT = """
import sys
print("top level ran", file=sys.stderr, flush=True)
from spacedigest.flows.settings import load_settings, quiet_prefect
quiet_prefect(load_settings().home)
from spacedigest.flows.collect import collect_flow
import pytest

pytestmark = pytest.mark.slow  # see tests/conftest.py: the fast tier leaves these out
import asyncio
report = asyncio.run(collect_flow())
print("new items:", report.items_new, file=sys.stderr)
"""


def test_a_script_without_a_main_guard_runs_the_flow_once_with_the_parse_pool(tmp_path, http_server, prefect_api):
    """Parse workers must not re-run the program that called the flow (multiprocessing would
    import an unguarded script's top level in every worker, running the collect again there)."""
    import os
    import subprocess
    import sys

    for n in range(3):
        http_server.add(f"/{n}.xml", body=fresh_feed(datetime.now(timezone.utc), n=2, prefix=f"Feed {n}"))
    (tmp_path / "c.toml").write_text(catalog_toml([(f"s{n}", "ESA", http_server.url(f"/{n}.xml")) for n in range(3)]))
    script = tmp_path / "collect_now.py"
    script.write_text(UNGUARDED_SCRIPT)
    env = dict(os.environ, SPACEDIGEST_HOME=str(tmp_path / "home"), SPACEDIGEST_SOURCES=str(tmp_path / "c.toml"),
               SPACEDIGEST_PARSE_PROCESSES="2", PREFECT_API_URL=prefect_api, PREFECT_HOME=str(tmp_path / "ph"),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("top level ran") == 1
    assert "new items: 6" in result.stderr
