"""Runs, digests, subscribers and deliveries: the warehouse side of the weekly job.
The SQL is in warehouse/sql/*.sql."""
from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import duckdb
import pyarrow as pa

from spacedigest.sources.models import DigestItem, DigestRecord, Subscriber
from spacedigest.warehouse.sql import run_with, statement


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


# --- runs ---------------------------------------------------------------------------------------

def start_run(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, started_at: datetime) -> None:
    con.execute(statement("run_start"), {"id": run_id, "kind": kind, "started_at": started_at})


def log_run(con: duckdb.DuckDBPyConnection, kind: str, started: datetime, *, status: str, message: str) -> None:
    """A `runs` row for a job that is not a flow of its own (digest, send)."""
    run_id = str(uuid.uuid4())
    start_run(con, run_id, kind, started)
    finish_run(con, run_id, finished_at=datetime.now(timezone.utc), status=status, message=message)


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, *, finished_at: datetime, status: str,
               sources_ok: int | None = None, sources_failed: int | None = None, items_new: int | None = None,
               message: str | None = None) -> None:
    con.execute(statement("run_finish"), {
        "id": run_id, "finished_at": finished_at, "status": status, "sources_ok": sources_ok,
        "sources_failed": sources_failed, "items_new": items_new, "message": message,
    })


# --- digests ------------------------------------------------------------------------------------

def digest_candidates(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[DigestItem]:
    """Items first seen in [start, end) and items whose deadline changed then (sql/digest_candidates.sql)."""
    return [DigestItem(**row) for row in _rows(con.execute(statement("digest_candidates"), {"start": start, "end": end}))]


def previous_cutoff(con: duckdb.DuckDBPyConnection, kind: str = "weekly") -> datetime | None:
    """The end of the latest digest's (or daily alert's) window: the next one starts there."""
    return con.execute(statement("previous_cutoff"), {"kind": kind}).fetchall()[0][0]


def record_digest(con: duckdb.DuckDBPyConnection, *, label: str, start: datetime, end: datetime,
                  created_at: datetime, item_count: int, paths: dict, kind: str = "weekly",
                  excluded: list[str] = ()) -> int:
    """Insert or refresh the digest of a window; returns its id (stable across re-renders)."""
    return con.execute(statement("digest_upsert"), {
        "label": label, "start": start, "end": end, "created_at": created_at, "item_count": item_count,
        "paths": json.dumps(paths, ensure_ascii=False), "kind": kind, "excluded": list(excluded),
    }).fetchall()[0][0]


def set_review(con: duckdb.DuckDBPyConnection, digest_id: int, *, release_at: datetime | None, held: bool) -> None:
    con.execute(statement("digest_review"), {"id": digest_id, "release_at": release_at, "held": held})


def digests_due(con: duckdb.DuckDBPyConnection, now: datetime) -> list[str]:
    """Labels of reviewed digests to send now (their time has come, staff did not hold them)."""
    return [r[0] for r in con.execute(statement("digests_due"), {"now": now}).fetchall()]


def all_digests(con: duckdb.DuckDBPyConnection, label: str | None = None, kind: str = "weekly") -> list[DigestRecord]:
    """Digests (or daily alerts), latest first (only the one with `label` if given)."""
    rows = _rows(con.execute(statement("digests"), {"label": label, "kind": kind}))
    return [DigestRecord(**{**row, "paths": json.loads(row["paths"] or "{}"), "excluded": list(row["excluded"])})
            for row in rows]


def digest_in_window(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> str | None:
    """The label of the latest digest built in [start, end), if any."""
    rows = con.execute(statement("digest_in_window"), {"start": start, "end": end}).fetchall()
    return rows[0][0] if rows else None


def find_digest(con: duckdb.DuckDBPyConnection, label: str | None = None, kind: str = "weekly") -> DigestRecord | None:
    """A digest by label, else the latest one."""
    rows = all_digests(con, label, kind)
    return rows[0] if rows else None


# --- subscribers --------------------------------------------------------------------------------

def _subscriber(row: dict) -> Subscriber:
    return Subscriber(**{**row, "name": row["name"] or "", "company": row["company"] or "",
                         "organisations": row["organisations"] or [], "categories": row["categories"] or []})


def find_subscriber(con: duckdb.DuckDBPyConnection, email: str) -> Subscriber | None:
    rows = _rows(con.execute(statement("subscriber_find"), {"email": email}))
    return _subscriber(rows[0]) if rows else None


def save_subscriber(con: duckdb.DuckDBPyConnection, sub: Subscriber, *, now: datetime) -> tuple[int, bool]:
    """Insert the subscriber, or update every field of the one with that address. (id, created)."""
    fields = {"name": sub.name, "company": sub.company, "language": sub.language,
              "organisations": list(sub.organisations), "categories": list(sub.categories),
              "eligible_only": sub.eligible_only, "frequency": sub.frequency, "paused": sub.paused,
              "active": sub.active, "now": now}
    existing = find_subscriber(con, sub.email)
    if existing:
        con.execute(statement("subscriber_update"), {**fields, "id": existing.id})
        return existing.id, False
    new_id = con.execute(statement("subscriber_insert"), {**fields, "email": sub.email}).fetchall()[0][0]
    return new_id, True


def add_subscriber(con: duckdb.DuckDBPyConnection, sub: Subscriber, *, now: datetime) -> tuple[int, bool]:
    """Insert a subscriber, or update (and re-activate) the one with that address. (id, created)."""
    return save_subscriber(con, replace(sub, active=True, paused=False), now=now)


def remove_subscriber(con: duckdb.DuckDBPyConnection, email: str, *, now: datetime) -> bool:
    """Deactivate (never delete: deliveries and consents keep their history)."""
    return bool(con.execute(statement("subscriber_remove"), {"email": email, "now": now}).fetchall())


def list_subscribers(con: duckdb.DuckDBPyConnection, *, active_only: bool = True) -> list[Subscriber]:
    return [_subscriber(row) for row in _rows(con.execute(statement("subscribers"), {"active_only": active_only}))]


def legacy_token_email(con: duckdb.DuckDBPyConnection, hashed: str) -> str | None:
    """The address whose token from before migration 005 hashes to `hashed`."""
    rows = con.execute(statement("subscriber_legacy_token"), {"hash": hashed}).fetchall()
    return rows[0][0] if rows else None


def record_consent(con: duckdb.DuckDBPyConnection, email: str, *, event: str, at: datetime, method: str,
                   wording_version: str | None = None, source: str | None = None, detail: str | None = None) -> None:
    """One consent given or withdrawn (kept for good, also after unsubscribing)."""
    con.execute(statement("consent_insert"), {"email": email, "event": event, "at": at, "method": method,
                                              "wording_version": wording_version, "source": source,
                                              "detail": detail})


# --- machine translations -----------------------------------------------------------------------

def known_translations(con: duckdb.DuckDBPyConnection, hashes: list[str], lang: str) -> dict[str, str]:
    """Text hash -> translation into `lang`, for the hashes already translated."""
    if not hashes:
        return {}
    return dict(con.execute(statement("translations_known"), {"hashes": hashes, "lang": lang}).fetchall())


def store_translations(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Rows of `translations` (text_hash, target_lang, source_text, translated, provider, created_at)."""
    if rows:
        run_with(con, "translations_insert", new_translations=pa.Table.from_pylist(rows, schema=_TRANSLATION_SCHEMA))


_TRANSLATION_SCHEMA = pa.schema([
    ("text_hash", pa.string()), ("target_lang", pa.string()), ("source_text", pa.string()),
    ("translated", pa.string()), ("provider", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")),
])
