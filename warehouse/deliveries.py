"""Deliveries: who received which digest. While a send talks to the mail server, each answer goes to
the delivery ledger in the journal at once (warehouse.ledger: no warehouse connection is held while
waiting on the network); the ledger's final rows are copied here by the next writer."""
from __future__ import annotations

import duckdb
import pyarrow as pa

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
