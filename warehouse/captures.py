"""Raw captures: every fetched body, gzip-compressed and content-addressed, under
$SPACEDIGEST_HOME/captures/ab/abcdef….gz. The `fetches` row that produced a body names it in
its `capture` column, so `spacedigest reprocess` can rebuild items without the network.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import time
from pathlib import Path

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
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(body)
    os.replace(tmp, path)
    return key


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
