"""Start-up benchmark: what a flow command pays before its first fetch, and Prefect's share of it.

Every figure is a separate process (best of --repeat), so nothing is imported or cached twice:
- the interpreter alone, and a command that does not import Prefect (`spacedigest sources list`);
- `import prefect`, and our flow modules (Prefect included);
- the Prefect server application, which Prefect's own temporary-server path imports into the
  calling process before it even starts the server subprocess;
- the temporary server from launch to healthy, on a fresh and on an existing PREFECT_HOME;
- an empty flow run cold, through Prefect's own temporary server and through spacedigest's
  (flows/tempserver.py: launched first, boots while the command imports);
- `spacedigest run` with the default catalog (offline here: every source is unreachable), with a
  running Prefect server and cold: whole wall time, time inside the collect flow, and how many
  temporary servers the process started (must be one).

    .venv/bin/python bench/startup.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from tests import prefect_server  # noqa: E402

VENV_BIN = Path(sys.executable).parent
_FLOW_SECONDS = re.compile(r"^collect: .*\(([\d.]+) s\)", re.MULTILINE)

EMPTY_FLOW = textwrap.dedent("""
    import contextlib, os, sys
    from pathlib import Path
    if sys.argv[1] == "spacedigest":
        from spacedigest.flows.tempserver import prefect_api
        api = prefect_api(Path(os.environ["PREFECT_HOME"]))
    else:
        api = contextlib.nullcontext()
    with api as server:
        from prefect import flow

        @flow(name="empty")
        def empty():
            return 1

        if server:
            server.wait_ready()
        empty()
""")


@dataclass
class Figure:
    name: str
    seconds: float
    note: str = ""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACEDIGEST_", "PREFECT_"))}
    env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="CRITICAL",
               PREFECT_SERVER_LOGGING_LEVEL="CRITICAL", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None,
           watch_servers: bool = False) -> tuple[float, str, int]:
    """(wall seconds, stdout, temporary servers seen among its children)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    servers: set[int] = set()
    watcher = None
    if watch_servers:
        servers, watcher = prefect_server.watch_temporary_servers(proc)
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    if watcher:
        watcher.join(timeout=2)
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    return wall, out, len(servers)


def _best(repeat: int, fn) -> float:
    return min(fn() for _ in range(repeat))


SECTIONS = ("imports", "servers", "runs")


def run(repeat: int = 3, sections: tuple[str, ...] = SECTIONS) -> list[Figure]:
    work = Path(tempfile.mkdtemp(prefix="spacedigest-bench-startup-"))
    figures: list[Figure] = []
    server_proc = None
    try:
        home = work / "prefect-home"
        home.mkdir()
        env = _env(PREFECT_HOME=str(home))
        script = work / "empty_flow.py"
        script.write_text(EMPTY_FLOW)

        def once(*cmd: str, cwd: Path | None = None, **extra: str) -> float:
            return _timed(list(cmd), {**env, **extra}, cwd)[0]

        if "imports" in sections:
            figures.extend(_imports(repeat, once))
        if "servers" in sections:
            figures.extend(_servers(repeat, work, home, once, script))
        if "runs" in sections:
            server_proc, api = prefect_server.start(work / "running-server-home")
            figures.append(_spacedigest_run(repeat, work, env, "Prefect server", PREFECT_API_URL=api))
            figures.append(_spacedigest_run(repeat, work, env, "cold"))
    finally:
        if server_proc is not None:
            prefect_server.stop(server_proc)
        shutil.rmtree(work, ignore_errors=True)
    return figures


def _imports(repeat: int, once) -> list[Figure]:
    py = sys.executable
    return [
        Figure("interpreter (python -c pass)", _best(repeat, lambda: once(py, "-c", "pass"))),
        Figure("spacedigest sources list (no Prefect)",
               _best(repeat, lambda: once(str(VENV_BIN / "spacedigest"), "sources", "list"))),
        Figure("import prefect", _best(repeat, lambda: once(py, "-c", "import prefect, prefect.flows"))),
        Figure("import spacedigest.flows.collect, spacedigest.flows.weekly (Prefect included)",
               _best(repeat, lambda: once(py, "-c", "import spacedigest.flows.collect, spacedigest.flows.weekly"))),
        Figure("import the Prefect server app (Prefect's own temporary-server path)",
               _best(repeat, lambda: once(py, "-c", "import prefect.server.api.server"))),
    ]


def _servers(repeat: int, work: Path, home: Path, once, script: Path) -> list[Figure]:
    from spacedigest.flows.tempserver import TemporaryServer

    py = sys.executable

    def boot(prefect_home: Path) -> float:
        saved = os.environ.copy()
        os.environ.clear()
        os.environ.update(_env(PREFECT_HOME=str(prefect_home)))
        try:
            started = time.perf_counter()
            server = TemporaryServer(prefect_home).start()
            try:
                server.wait_ready()
                return time.perf_counter() - started
            finally:
                server.stop()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    # The first boot creates the database; the empty flows below then all start on an existing one.
    figures = [Figure("temporary server boot, fresh PREFECT_HOME (creates its database)", boot(home)),
               Figure("temporary server boot, existing PREFECT_HOME", _best(repeat, lambda: boot(home)))]
    return figures + [
        Figure("empty flow, cold, Prefect's own temporary server", _best(repeat, lambda: once(py, str(script), "prefect"))),
        Figure("empty flow, cold, spacedigest's temporary server",
               _best(repeat, lambda: once(py, str(script), "spacedigest"))),
    ]


def _spacedigest_run(repeat: int, work: Path, env: dict[str, str], label: str, **extra: str) -> Figure:
    best = None
    for n in range(repeat):
        data = work / f"data-{label}-{n}"
        data.mkdir()
        wall, out, servers = _timed([str(VENV_BIN / "spacedigest"), "run"], {**env, "SPACEDIGEST_HOME": str(data), **extra},
                                    cwd=data, watch_servers=True)
        match = _FLOW_SECONDS.search(out)
        flow_s = float(match.group(1)) if match else float("nan")
        if best is None or wall < best[0]:
            best = (wall, flow_s, servers)
    wall, flow_s, servers = best
    return Figure(f"spacedigest run, default catalog, {label}", wall,
                  f"collect flow {flow_s:.1f} s; temporary servers started: {servers}")


def table(figures: list[Figure]) -> str:
    width = max(len(f.name) for f in figures)
    lines = [f"{'start-up':<{width}} {'s':>6}", "-" * (width + 7)]
    lines += [f"{f.name:<{width}} {f.seconds:>6.2f}" + (f"  {f.note}" if f.note else "") for f in figures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="start-up of the flow commands, and Prefect's share")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    args = parser.parse_args(argv)
    print(table(run(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
