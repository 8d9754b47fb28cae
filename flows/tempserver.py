"""Prefect's temporary API server, started by spacedigest itself when no PREFECT_API_URL is set.

Prefect starts the same server on first use of its client when no API is configured (uvicorn
serving Prefect's app, state in SQLite under PREFECT_HOME), but it first imports the whole server
application into the calling process (about 3 s here) and only then boots the subprocess (about
3 s more), one after the other. Started here, at the first line of a flow command and before
Prefect is imported, the server boots on another core while this process imports Prefect and
prepares the run, and this process never imports the server application at all
(bench/startup.py measures both ways).

One server per process, stopped when the command ends; on Linux it also dies with its parent.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

# What Prefect's own SubprocessASGIServer sets for its temporary server: no UI, ephemeral mode.
_SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
_ADDRESS_IN_USE = 3  # uvicorn's exit status when the port was taken meanwhile
STARTUP_TIMEOUT_S = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 90)


class TemporaryServerError(RuntimeError):
    """The temporary server could not be started (one-line reason)."""


class TemporaryServer:
    """A started (maybe not yet ready) temporary Prefect server."""

    def __init__(self, home: Path):
        self.log_path = Path(home) / "temporary-server.log"
        self.process: subprocess.Popen | None = None
        self.api_url = ""
        self._ready = False

    def start(self) -> "TemporaryServer":
        port = _free_port()
        self.api_url = f"http://127.0.0.1:{port}/api"
        prefect_dir = Path(importlib.util.find_spec("prefect").origin).parent  # without importing it
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "ab")
        except OSError as exc:
            raise TemporaryServerError(f"cannot write the temporary server's log {self.log_path}: "
                                       f"{exc.strerror}") from None
        with log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect_dir.parent), "--factory",
                 "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "error", "--lifespan", "on"],
                env={**os.environ, **_SERVER_ENV}, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        return self

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Block until the server answers /health."""
        if self._ready:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll() if self.process else None
            if code == _ADDRESS_IN_USE:
                # Prefect has read PREFECT_API_URL by now, so another port would not reach it.
                raise TemporaryServerError(f"the port of Prefect's temporary server ({self.api_url}) was "
                                           "taken while it started; run the command again")
            if code is not None:
                raise TemporaryServerError(f"Prefect's temporary server exited with status {code}: "
                                           f"{_last_line(self.log_path)} (log: {self.log_path})")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        self._ready = True
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise TemporaryServerError(f"Prefect's temporary server did not answer within {timeout:.0f} s "
                                   f"(log: {self.log_path}); or set PREFECT_API_URL to a running server")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def prefect_api(prefect_home: Path) -> Iterator[TemporaryServer | None]:
    """Within: PREFECT_API_URL points at a Prefect server. When it is already set (a running server,
    as scheduled runs have) nothing is started and None is yielded; otherwise a temporary server is
    started now and yielded — call `wait_ready()` before the first flow run."""
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    server = TemporaryServer(prefect_home).start()
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        yield server
    finally:
        _flush_prefect_events()
        server.stop()
        os.environ.pop("PREFECT_API_URL", None)


def _flush_prefect_events() -> None:
    """Let Prefect send what it still holds (task states, logs) before its server goes away."""
    if "prefect" not in sys.modules:
        return
    with contextlib.suppress(Exception):
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=10)
    with contextlib.suppress(Exception):
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    import ctypes

    PR_SET_PDEATHSIG = 1
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return (lines[-1] if lines else "no output")[:200]
