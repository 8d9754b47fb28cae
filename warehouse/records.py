"""Runs, digests, subscribers and deliveries: the warehouse side of the weekly job."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from warehouse.sql import statement


# --- runs ---------------------------------------------------------------------------------------

def start_run(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, started_at: datetime) -> None:
    con.execute("INSERT INTO runs (id, kind, started_at, status) VALUES (?, ?, ?, 'running')",
                [run_id, kind, started_at])


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, *, finished_at: datetime, status: str,
               sources_ok: int | None = None, sources_failed: int | None = None, items_new: int | None = None,
               message: str | None = None) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, sources_ok = ?, sources_failed = ?, items_new = ?, message = ? "
        "WHERE id = ?",
        [finished_at, status, sources_ok, sources_failed, items_new, message, run_id],
    )


# --- digests ------------------------------------------------------------------------------------

def digest_candidates(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    cur = con.execute(statement("digest_candidates"), {"start": start, "end": end})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def previous_cutoff(con: duckdb.DuckDBPyConnection, before: datetime | None = None) -> datetime | None:
    """The end of the latest digest's window (the next digest starts there)."""
    if before is None:
        return con.execute("SELECT max(window_end) FROM digests").fetchall()[0][0]
    return con.execute("SELECT max(window_end) FROM digests WHERE window_end <= ?", [before]).fetchall()[0][0]


def record_digest(con: duckdb.DuckDBPyConnection, *, label: str, start: datetime, end: datetime,
                  created_at: datetime, item_count: int, paths: dict) -> int:
    """Insert or refresh the digest of a window; returns its id (stable across re-renders)."""
    row = con.execute(
        "INSERT INTO digests (label, window_start, window_end, created_at, item_count, paths) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (label) DO UPDATE SET window_start = excluded.window_start, window_end = excluded.window_end, "
        "created_at = excluded.created_at, item_count = excluded.item_count, paths = excluded.paths "
        "RETURNING id",
        [label, start, end, created_at, item_count, json.dumps(paths, ensure_ascii=False)],
    ).fetchall()
    return row[0][0]


def find_digest(con: duckdb.DuckDBPyConnection, label: str | None = None) -> dict[str, Any] | None:
    """A digest by label, else the latest one."""
    sql = "SELECT id, label, window_start, window_end, created_at, item_count, paths FROM digests "
    cur = con.execute(sql + "WHERE label = ?", [label]) if label else con.execute(sql + "ORDER BY window_end DESC, id DESC LIMIT 1")
    rows = cur.fetchall()
    if not rows:
        return None
    names = [d[0] for d in cur.description]
    digest = dict(zip(names, rows[0]))
    digest["paths"] = json.loads(digest["paths"] or "{}")
    return digest


def all_digests(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cur = con.execute("SELECT id, label, window_start, window_end, created_at, item_count, paths FROM digests ORDER BY window_end DESC")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    for r in rows:
        r["paths"] = json.loads(r["paths"] or "{}")
    return rows


# --- subscribers --------------------------------------------------------------------------------

_SUBSCRIBER_COLUMNS = "id, email, name, language, organisations, categories, token, active"


def add_subscriber(con: duckdb.DuckDBPyConnection, sub, *, now: datetime) -> tuple[int, bool]:
    """Insert a subscriber, or update (and re-activate) the one with that address. (id, created)."""
    existing = con.execute("SELECT id FROM subscribers WHERE email = ?", [sub.email]).fetchall()
    if existing:
        existing = existing[0]
        con.execute(
            "UPDATE subscribers SET name = ?, language = ?, organisations = ?, categories = ?, active = TRUE, "
            "unsubscribed_at = NULL WHERE id = ?",
            [sub.name, sub.language, list(sub.organisations), list(sub.categories), existing[0]],
        )
        return existing[0], False
    row = con.execute(
        "INSERT INTO subscribers (email, name, language, organisations, categories, token, active, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, TRUE, ?) RETURNING id",
        [sub.email, sub.name, sub.language, list(sub.organisations), list(sub.categories), sub.token, now],
    ).fetchall()
    return row[0][0], True


def remove_subscriber(con: duckdb.DuckDBPyConnection, email: str, *, now: datetime) -> bool:
    """Deactivate (never delete: deliveries keep their history)."""
    row = con.execute(
        "UPDATE subscribers SET active = FALSE, unsubscribed_at = ? WHERE email = ? AND active RETURNING id",
        [now, email],
    ).fetchall()
    return bool(row)


def list_subscribers(con: duckdb.DuckDBPyConnection, *, active_only: bool = True) -> list[dict[str, Any]]:
    where = "WHERE active " if active_only else ""
    cur = con.execute(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers {where}ORDER BY id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# --- deliveries ---------------------------------------------------------------------------------

def delivered_ids(con: duckdb.DuckDBPyConnection, digest_id: int) -> set[int]:
    """Subscribers this digest must not be sent to again: accepted, or refused for good."""
    rows = con.execute("SELECT subscriber_id FROM deliveries WHERE digest_id = ?", [digest_id]).fetchall()
    return {r[0] for r in rows}


def record_delivery(con: duckdb.DuckDBPyConnection, *, digest_id: int, subscriber_id: int, status: str,
                    at: datetime, message_id: str | None, error: str | None) -> None:
    """Written right after the server answered, each in its own (auto-committed) statement."""
    con.execute(
        "INSERT INTO deliveries (digest_id, subscriber_id, status, delivered_at, message_id, error) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [digest_id, subscriber_id, status, at, message_id, error],
    )
