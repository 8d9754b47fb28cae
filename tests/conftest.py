"""Shared test fixtures. Real components only: local HTTP/SMTP servers, real DuckDB files."""
from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
# Real feeds captured from public sites; never copied into this repository.
REAL_FEEDS = PROJECT_ROOT.parent / "shared" / "real-feeds" / "sismics-reader"


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
