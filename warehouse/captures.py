"""Raw captures: every fetched body, gzip-compressed and content-addressed, under
$SPACEDIGEST_HOME/captures/ab/abcdef….gz. The `fetches` row that produced a body names it in
its `capture` column, so `spacedigest reprocess` can rebuild items without the network: a
`CaptureRetriever` answers the pipeline's requests from the captures of one run, and the pipeline
runs exactly as `collect` ran it (pages, item pages, fallback feed).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from spacedigest.sources.files import write_atomic
from spacedigest.sources.models import Attempt, Fetched, Request, SourceResult, Validators

CAPTURES_DIR = "captures"


def capture_path(home: Path, key: str) -> Path:
    return Path(home) / CAPTURES_DIR / key[:2] / f"{key}.gz"


def store(home: Path, body: bytes) -> str:
    """Store a body once (same bytes, same key); returns its key (sha256 hex)."""
    key = hashlib.sha256(body).hexdigest()
    path = capture_path(home, key)
    if path.exists():
        os.utime(path)  # still in use: keep it past the retention period
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, gzip.compress(body, compresslevel=6, mtime=0))
    return key


def keep_bodies(home: Path, result: SourceResult) -> SourceResult:
    """The result with every fetched body stored as a capture and dropped from memory (a capture
    is a convenience: a body that cannot be stored is dropped all the same)."""

    def kept(attempt: Attempt) -> Attempt:
        body = attempt.fetched.body
        if body is None:
            return attempt
        try:
            key = store(home, body)
        except OSError:
            key = None
        return replace(attempt, fetched=replace(attempt.fetched, body=None), capture=key)

    return replace(result, listing=kept(result.listing), others=tuple(kept(a) for a in result.others))


def load(home: Path, key: str) -> bytes | None:
    path = capture_path(home, key)
    try:
        with gzip.open(path, "rb") as gz:
            return gz.read()
    except FileNotFoundError:
        return None


def prune(home: Path, *, keep_days: int) -> int:
    """Delete captures not written or reused for `keep_days`; returns how many were removed."""
    root = Path(home) / CAPTURES_DIR
    if keep_days <= 0 or not root.is_dir():
        return 0
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for path in root.glob("*/*.gz"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


@dataclass(frozen=True)
class Captured:
    """One captured fetch of a run (a `fetches` row with a capture)."""

    requested_url: str
    final_url: str
    content_type: str | None
    capture: str
    started_at: datetime


@dataclass(frozen=True)
class CapturedRun:
    """What one run fetched for one source, in order; a replay starts at `start_url`."""

    run_id: str
    source_id: str
    start_url: str
    captured: list[Captured]


def captured_runs(con, only: list[str] | None = None) -> list[CapturedRun]:
    """Every (run, source) with captures, oldest first, so replaying them in order rebuilds items as
    they were first seen."""
    from spacedigest.warehouse.sql import statement

    groups: dict[tuple[str, str], dict] = {}
    for run_id, source_id, role, requested, final, content_type, capture, started_at in con.execute(
            statement("captured_fetches"), {"only": only}).fetchall():
        group = groups.setdefault((run_id, source_id), {"start": None, "captured": []})
        # The source's own URL: the "primary" a fallback replaced, else the listing. (A replay that
        # started at the fallback's URL would read a feed with the page's selectors.)
        if role == "primary" or role == "listing" and group["start"] is None:
            group["start"] = requested
        if capture is not None:
            group["captured"].append(Captured(requested, final, content_type, capture, started_at))
    return [CapturedRun(run_id, source_id, group["start"], group["captured"])
            for (run_id, source_id), group in groups.items() if group["start"] and group["captured"]]


class CaptureRetriever:
    """The `Retriever` (sources.kinds) for `reprocess`: answers each request with the body
    captured for that URL in one run, offline; a URL the run did not capture is an error."""

    def __init__(self, home: Path, source_id: str, captured: list[Captured]):
        self.home = Path(home)
        self.by_url = {c.requested_url: c for c in captured}
        self.served = 0
        self.missing = 0

    def fetch(self, source_id: str, request: Request, validators: Validators | None = None) -> Fetched:
        found = self.by_url.get(request.url)
        body = load(self.home, found.capture) if found else None
        if found is None or body is None:
            self.missing += found is not None
            at = found.started_at if found else datetime.fromtimestamp(0).astimezone()
            return Fetched(source_id, request.url, "error", at, error="not captured in this run")
        self.served += 1
        return Fetched(source_id, request.url, "ok", found.started_at, final_url=found.final_url,
                       content_type=found.content_type, body=body, bytes=len(body))

    def allowed(self, url: str) -> tuple[bool, str | None]:
        return True, None  # it was fetched, so robots.txt allowed it then
