"""The collect flow itself, in this process: a source whose task breaks (a bug, not a bad
feed) is retried, then reported as that source's failure while the others load."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tests.test_e2e import catalog_toml, fresh_feed


def test_a_task_that_raises_fails_only_its_source(tmp_path, monkeypatch, http_server, prefect_api):
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    import spacedigest.flows.collect as collect

    http_server.add("/a.xml", body=fresh_feed(datetime.now(timezone.utc), n=2))
    http_server.add("/b.xml", body=fresh_feed(datetime.now(timezone.utc), n=2, prefix="Tender"))
    (tmp_path / "c.toml").write_text(catalog_toml([("healthy", "ESA", http_server.url("/a.xml")),
                                                  ("broken", "ESA", http_server.url("/b.xml"))]))
    monkeypatch.setenv("SPACEDIGEST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPACEDIGEST_SOURCES", str(tmp_path / "c.toml"))
    calls = []
    real = collect.runtime.collect

    def sometimes_broken(source, url, validators, ctx):
        calls.append(source.id)
        if source.id == "broken":
            raise RuntimeError("simulated bug")
        return real(source, url, validators, ctx)

    monkeypatch.setattr(collect.runtime, "collect", sometimes_broken)
    with temporary_settings(updates={PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        report = collect.collect_flow()
    lines = {line.source_id: line for line in report.lines}
    assert lines["healthy"].status == "ok" and lines["healthy"].new == 2
    assert lines["broken"].status == "error"
    assert lines["broken"].error == "internal error: RuntimeError: simulated bug"
    assert calls.count("broken") == 2  # retried once


UNGUARDED_SCRIPT = """
import sys
print("top level ran", file=sys.stderr, flush=True)
from spacedigest.flows.settings import load_settings, quiet_prefect
quiet_prefect(load_settings().home)
from spacedigest.flows.collect import collect_flow
import pytest

pytestmark = pytest.mark.slow  # see tests/conftest.py: the fast tier leaves these out
report = collect_flow()
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
