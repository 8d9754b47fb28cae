"""Cold runs: with no PREFECT_API_URL the flow commands start one temporary Prefect server themselves
(flows/tempserver.py), record the run in it, and leave nothing running behind them."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil

from tests.prefect_server import watch_temporary_servers
import pytest

pytestmark = pytest.mark.slow  # see tests/conftest.py: the fast tier leaves these out

FEED = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
<link>https://example.org/</link><description>d</description>
<item><title>Call for proposals: lunar logistics</title><link>https://example.org/a</link>
<guid>a</guid><pubDate>Mon, 06 Jan 2025 09:00:00 GMT</pubDate>
<description>Applications close on 31 March 2025.</description></item></channel></rss>"""


def _cold_env(tmp_path: Path, catalog: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SPACEDIGEST_"))}
    env.update(SPACEDIGEST_HOME=str(tmp_path / "home"), SPACEDIGEST_SOURCES=str(catalog),
               PREFECT_HOME=str(tmp_path / "prefect"), NO_PROXY="*", no_proxy="*")
    env.update(extra)
    return env


def _catalog(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(f'[[source]]\nid = "one"\norganisation = "ESA"\nkind = "feed"\nurl = "{url}"\n'
                    'language = "en"\n', encoding="utf-8")
    return path


def _run_watching_servers(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, set[int]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    servers, watcher = watch_temporary_servers(proc)
    out, err = proc.communicate(timeout=240)
    watcher.join(timeout=5)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), servers


def test_cold_collect_starts_one_temporary_server_records_the_run_and_stops_it(tmp_path, http_server):
    http_server.add("/feed.xml", body=FEED, content_type="application/rss+xml")
    env = _cold_env(tmp_path, _catalog(tmp_path, http_server.url("/feed.xml")))
    exe = str(Path(sys.executable).with_name("spacedigest"))

    result, servers = _run_watching_servers([exe, "collect"], env)

    assert result.returncode == 0, result.stderr
    assert "collect: 1 sources, 1 ok, 0 failed; 1 new items" in result.stdout
    assert "Traceback" not in result.stderr
    assert len(servers) == 1  # one temporary server for the process
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in servers)  # and it is gone
    # The run is in the temporary server's database, completed, like a run against a real server.
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as con:
        rows = con.execute("SELECT flow.name, flow_run.state_type FROM flow_run JOIN flow "
                           "ON flow.id = flow_run.flow_id").fetchall()
    assert rows == [("collect", "COMPLETED")]


def test_a_temporary_server_that_cannot_start_is_one_clear_line(tmp_path, http_server):
    http_server.add("/feed.xml", body=FEED, content_type="application/rss+xml")
    env = _cold_env(tmp_path, _catalog(tmp_path, http_server.url("/feed.xml")),
                    PREFECT_API_DATABASE_CONNECTION_URL="nosuchdriver://nowhere/db")
    exe = str(Path(sys.executable).with_name("spacedigest"))

    result = subprocess.run([exe, "collect"], env=env, capture_output=True, text=True, timeout=240)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spacedigest: Prefect's temporary server exited"), result.stderr
    assert "temporary-server.log" in lines[0]
