"""The web app under real uvicorn on 127.0.0.1: in a thread of the test process (fast), or as the
real `spacedigest web` command in a process of its own (what a deployment runs; can be killed)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.prefect_server import free_port


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class ThreadedApp:
    """uvicorn.Server serving create_app(settings) in a thread."""

    def __init__(self, settings):
        import uvicorn

        from spacedigest.reports.web import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="critical",
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ThreadedApp":
        self.thread.start()
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class WebProcess:
    """`spacedigest web` in a process of its own; `kill()` sends SIGKILL."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("spacedigest")
        self.log_path = Path(env["SPACEDIGEST_HOME"]).parent / f"web-{self.port}.log"
        self.log = open(self.log_path, "w")
        env = {**os.environ, **env, "SPACEDIGEST_WEB_PORT": str(self.port)}
        env.setdefault("SPACEDIGEST_SITE_URL", self.url + "/")  # mail links point at this app
        self.proc = subprocess.Popen([str(exe), "web"], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> "WebProcess":
        wait_for_port(self.port)
        return self

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __exit__(self, *exc) -> None:
        self.kill()
        self.log.close()


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the first form on a page (csrf, token, ...)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def title(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    return match[1] if match else ""


def client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
