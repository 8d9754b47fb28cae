"""Shared test fixtures. Real components only: local HTTP/SMTP servers, real DuckDB files.

Two tiers: `make test` runs everything; `make test-fast` (pytest -m "not slow") leaves out the
tests marked slow: those that start Prefect (every test using the `cli` or `prefect_api`
fixture is marked here), a browser, benchmarks or many subprocesses.
"""
from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
# Real feeds captured from public sites; never copied into this repository.
REAL_FEEDS = PROJECT_ROOT.parent / "shared" / "real-feeds" / "sismics-reader"


SLOW_FIXTURES = {"cli", "prefect_api"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def real_feeds() -> Path:
    if not REAL_FEEDS.is_dir():
        pytest.skip(f"real-feed corpus not found at {REAL_FEEDS} (it lives in ../shared beside the project)")
    return REAL_FEEDS


@pytest.fixture
def http_server():
    """A local HTTP server on 127.0.0.1 serving registered fixture routes."""
    from tests.httpserver import FixtureServer

    with FixtureServer() as server:
        yield server


def _free_port() -> int:
    from tests.prefect_server import free_port

    return free_port()


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """One real Prefect server for the whole test session (it takes 5-15 s to start).

    Yields the API URL; tests pass it to the `spacedigest` processes they start.
    """
    from tests import prefect_server

    proc, url = prefect_server.start(tmp_path_factory.mktemp("prefect-home"))
    try:
        yield url
    finally:
        prefect_server.stop(proc)


@pytest.fixture
def cli(tmp_path, prefect_api):
    """Run the real `spacedigest` console script in a fresh SPACEDIGEST_HOME."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    exe = Path(sys.executable).with_name("spacedigest")

    def run(*args, env: dict | None = None, timeout: float = 180, input: str | None = None):
        full_env = dict(os.environ, SPACEDIGEST_HOME=str(home), PREFECT_API_URL=prefect_api,
                        PREFECT_HOME=str(tmp_path / "prefect-client"), SPACEDIGEST_SITE_URL="https://digest.example.org/",
                        **LEGAL_ENV)
        full_env.pop("SPACEDIGEST_SMTP_URL", None)
        full_env.update(env or {})
        return subprocess.run([str(exe), *args], env=full_env, capture_output=True, text=True, timeout=timeout,
                              input=input)

    run.home = home
    return run


class MailBox:
    """An aiosmtpd handler that keeps every accepted message; `delay` seconds per message (to make
    sends overlap) and `on_mail(n, peer)` called at each MAIL FROM (n: messages accepted so far;
    peer: the client's (host, port))."""

    def __init__(self, delay: float = 0.0):
        self.messages: list[tuple[list[str], bytes]] = []
        self.delay = delay
        self.on_mail = None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.on_mail is not None:
            self.on_mail(len(self.messages), session.peer)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"

    def to(self, address: str) -> list:
        import email
        import email.policy

        return [email.message_from_bytes(content, policy=email.policy.default)
                for rcpts, content in self.messages if address in rcpts]

    @property
    def recipients(self) -> list[str]:
        return [r for rcpts, _ in self.messages for r in rcpts]


@pytest.fixture
def mail_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; yields (smtp URL, MailBox)."""
    from aiosmtpd.controller import Controller

    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", box
    finally:
        controller.stop()


# What every mail must show (特定電子メール法): tests that send set them, as a deployment must.
LEGAL_ENV = {"SPACEDIGEST_SENDER_NAME": "一般社団法人 宇宙ビジネス協会", "SPACEDIGEST_POSTAL_ADDRESS": "東京都中央区日本橋1-1-1",
             "SPACEDIGEST_CONTACT_EMAIL": "office@spacedigest.example", "SPACEDIGEST_FROM": "Digest <digest@spacedigest.example>"}
