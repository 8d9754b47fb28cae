"""A real `prefect server start` on a free loopback port, for tests and benchmarks that run the
flows the way scheduled runs do (PREFECT_API_URL set) and must not pay a temporary server each."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

PREFECT = Path(sys.executable).with_name("prefect")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(home: Path, *, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """Start a server whose state lives in `home`; returns (process, API URL) once /api/health answers."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACEDIGEST_", "PREFECT_"))}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_LOGGING_LEVEL="WARNING", PREFECT_UI_ENABLED="false")
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen([str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited ({proc.returncode}); see {home / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=1) as response:
                if response.status == 200:
                    return proc, api
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"prefect server did not answer within {timeout:.0f} s; see {home / 'server.log'}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and the processes it started."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def watch_temporary_servers(proc: subprocess.Popen) -> tuple[set[int], threading.Thread]:
    """Start recording the pid of every uvicorn child (a temporary Prefect server) of `proc` while
    it runs; returns (the set it fills, the watching thread to join)."""
    import psutil

    seen: set[int] = set()

    def watch() -> None:
        try:
            parent = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while proc.poll() is None:
            try:
                for child in parent.children(recursive=True):
                    if "uvicorn" in " ".join(child.cmdline()):
                        seen.add(child.pid)
            except psutil.Error:
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return seen, watcher
