"""Deliveries: who received which digest, journaled so that a send never holds the warehouse.

While a send talks to the mail server, each answer is appended to a journal file at once (no
warehouse connection is held while waiting on the network); the journal is loaded into
`deliveries` afterwards, or by the next send if this one was killed half-way. A line cut short by
a kill is skipped: that message is retried, never lost.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from spacedigest.warehouse import db, records
from spacedigest.warehouse.sql import run_with, statement

_JOURNAL_SCHEMA = pa.schema([
    ("digest_id", pa.int64()), ("subscriber_id", pa.int64()), ("status", pa.string()),
    ("delivered_at", pa.timestamp("us", tz="UTC")), ("message_id", pa.string()), ("error", pa.string()),
])


def delivered_ids(con: duckdb.DuckDBPyConnection, digest_id: int) -> set[int]:
    """Subscribers this digest must not be sent to again: accepted, or refused for good."""
    return {r[0] for r in con.execute(statement("delivered"), {"digest_id": digest_id}).fetchall()}


def record_deliveries(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Deliveries (dicts with the `deliveries` columns) in one statement."""
    if not rows:
        return
    run_with(con, "delivery_insert", journal=pa.Table.from_pylist(rows, schema=_JOURNAL_SCHEMA))


class Journal:
    """The journal of one digest's send: one JSON line per final answer (sent or refused for good)."""

    def __init__(self, folder: Path, digest_id: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.digest_id = digest_id
        self.path = folder / f".deliveries-{digest_id}.jsonl"
        self._out = None

    def __enter__(self) -> "Journal":
        self._out = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc) -> None:
        self._out.close()

    def record(self, subscriber_id: int, *, sent: bool, message_id: str | None, error: str | None) -> None:
        self._out.write(json.dumps({
            "digest_id": self.digest_id, "subscriber_id": subscriber_id, "status": "sent" if sent else "rejected",
            "at": datetime.now(timezone.utc).isoformat(), "message_id": message_id, "error": error,
        }) + "\n")
        self._out.flush()


def load_journals(home: Path, folder: Path, run: tuple[str, datetime, str, str] | None = None) -> int:
    """Move delivery journals (a finished send's, or a killed one's) into the warehouse, and log the
    send's run (kind, started, status, message) in the same short write."""
    journals = sorted(folder.glob(".deliveries-*.jsonl")) if folder.is_dir() else []
    if not journals and run is None:
        return 0
    rows = []
    for journal in journals:
        for line in journal.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill: that message is retried, never lost
            rows.append({"digest_id": row["digest_id"], "subscriber_id": row["subscriber_id"],
                         "status": row["status"], "delivered_at": datetime.fromisoformat(row["at"]),
                         "message_id": row["message_id"], "error": row["error"]})
    # The first answer per subscriber counts (a journal never holds two, but be sure).
    unique = list({(r["digest_id"], r["subscriber_id"]): r for r in reversed(rows)}.values())
    with db.writer(home) as con:
        record_deliveries(con, unique)
        if run is not None:
            kind, started, status, message = run
            records.log_run(con, kind, started, status=status, message=message)
    for journal in journals:
        journal.unlink()
    return len(unique)
