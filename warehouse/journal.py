"""The journal: what must be on disk at once, whoever holds the warehouse.

DuckDB allows one writing process, and a collect holds the warehouse while it loads. What members do
on the web cannot wait for that, and neither can the bookkeeping of a send. So both go to a small
SQLite database beside the warehouse, `$SPACEDIGEST_HOME/journal.sqlite` (WAL: many processes write
it, each write a short transaction that is on disk when it returns; schema in sql/journal_schema.sql):

- `changes`: a member subscribed, changed preferences or unsubscribed. The web app answers only after
  the change is committed here. Every warehouse writer applies the changes it has not applied yet
  before doing anything else (`apply_changes`, called by `db.writer`), so every send that starts
  afterwards honours them — also while a collect is loading, also if the web process was killed
  right after answering. Until then the web app shows the warehouse's state with the newer changes
  on top (`subscriber_now`): the same function (`reports.subscribers.apply_change`) does both.
- `tokens`: the SHA-256 of every token we handed out (see reports.subscribers), with its purpose.
- `confirmation_mails`: for the rate limits on confirmation mails.
- `sends`: the delivery ledger (warehouse.ledger).
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import duckdb

from spacedigest.sources.models import Subscriber
from spacedigest.warehouse.sql import statement, statements, transaction as sql_transaction

JOURNAL_FILE = "journal.sqlite"
BUSY_TIMEOUT_S = 30.0
_READY: set[Path] = set()  # journals this process has set up


class JournalError(Exception):
    """The journal cannot be read or written, in one line."""


def journal_path(home: Path) -> Path:
    return Path(home) / JOURNAL_FILE


def stamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds: sorts as time in SQL."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


@contextmanager
def connect(home: Path, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode (use `transaction`). `durable`: every commit is fsynced
    (what the web app answered for survives a power cut too); the ledger's frequent small commits
    use synchronous=NORMAL, which survives the process being killed."""
    path = journal_path(home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise JournalError(f"cannot open the journal {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        if path not in _READY:  # once per process: WAL is a property of the file, the schema idempotent
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(statement("journal_schema"))
            _READY.add(path)
        yield conn
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path}: {exc}") from None
    finally:
        conn.close()


def transaction(conn: sqlite3.Connection):
    """BEGIN IMMEDIATE: the write lock is taken at once, so two writers never deadlock on upgrade."""
    return sql_transaction(conn, "BEGIN IMMEDIATE")


# --- changes made on the web ----------------------------------------------------------------------

def record_change(home: Path, email: str, kind: str, data: dict, *, now: datetime) -> int:
    """Journal one change; when this returns it is on disk. Returns its id."""
    with connect(home) as conn, transaction(conn):
        return add_change(conn, email, kind, data, now=now)


def add_change(conn: sqlite3.Connection, email: str, kind: str, data: dict, *, now: datetime) -> int:
    """Journal one change inside the caller's transaction."""
    return conn.execute(statement("journal_change_insert"), {
        "at": stamp(now), "email": email, "kind": kind, "data": json.dumps(data, ensure_ascii=False),
    }).fetchone()[0]


def changes_after(conn: sqlite3.Connection, after: int, email: str | None = None) -> list[dict]:
    rows = conn.execute(statement("journal_changes_after"), {"after": after, "email": email}).fetchall()
    return [{"id": r[0], "at": parse_stamp(r[1]), "email": r[2], "kind": r[3], "data": json.loads(r[4])}
            for r in rows]


def applied_up_to(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(statement("web_changes_applied")).fetchall()[0][0]


def apply_changes(con: duckdb.DuckDBPyConnection, home: Path, *, now: datetime | None = None) -> int:
    """Apply the journaled web changes the warehouse has not applied yet, in order, in one
    transaction (a kill leaves none of them applied, and the next writer applies them all).
    Consent given on the web, and every unsubscription, get their consent record. Returns how many."""
    from spacedigest.reports.subscribers import InvalidSubscriber, apply_change
    from spacedigest.warehouse import records

    if not journal_path(home).exists():
        return 0
    now = now or datetime.now(timezone.utc)
    with connect(home) as conn:
        changes = changes_after(conn, applied_up_to(con))
    if not changes:
        return 0
    with sql_transaction(con):
        for change in changes:
            email, kind, data = change["email"], change["kind"], change["data"]
            current = records.find_subscriber(con, email)
            try:
                updated = apply_change(current, email, kind, data)
            except (InvalidSubscriber, ValueError, TypeError, KeyError) as exc:
                data = {**data, "not_applied": " ".join(str(exc).split())}
                updated = None
            if updated is not None:
                records.save_subscriber(con, updated, now=change["at"])
                _consent_of(con, change, data, was_active=bool(current and current.active))
            con.execute(statement("web_change_insert"), {
                "id": change["id"], "at": change["at"], "email": email, "kind": kind,
                "data": json.dumps(data, ensure_ascii=False), "applied_at": now})
    return len(changes)


def _consent_of(con, change: dict, data: dict, *, was_active: bool) -> None:
    from spacedigest.warehouse import records

    if change["kind"] == "subscribe":
        consent = data.get("consent") or {}
        records.record_consent(con, change["email"], event="given", at=change["at"], method="web-form",
                               wording_version=consent.get("wording_version"), source=consent.get("client"),
                               detail=f"form sent {consent.get('form_sent_at', '?')}, confirmed {change['at'].isoformat()}")
    elif change["kind"] == "unsubscribe" and was_active:
        records.record_consent(con, change["email"], event="withdrawn", at=change["at"],
                               method=data.get("method", "web-page"))


def staff_copy_behind(home: Path) -> bool:
    """Whether the journal holds changes the published staff copy does not show yet."""
    from spacedigest.warehouse import db

    if not journal_path(home).exists() or not db.staff_path(home).exists():
        return False
    with connect(home) as conn:
        last = conn.execute(statement("journal_last_change")).fetchone()[0]
    with db.reader(home) as con:
        return last > applied_up_to(con)


def subscriber_now(home: Path, email: str) -> Subscriber | None:
    """The subscriber as the next send will see it: the published warehouse copy, with the journaled
    changes it has not applied yet on top (None: not subscribed, never was)."""
    from spacedigest.reports.subscribers import apply_change
    from spacedigest.warehouse import db, records

    with db.reader(home) as con:
        current = records.find_subscriber(con, email)
        after = applied_up_to(con)
    with connect(home) as conn:
        changes = changes_after(conn, after, email)
    for change in changes:
        try:
            current = apply_change(current, email, change["kind"], change["data"]) or current
        except (ValueError, TypeError, KeyError):
            continue  # as apply_changes: a change that cannot apply changes nothing
    return current


# --- tokens ----------------------------------------------------------------------------------------

def put_token(conn: sqlite3.Connection, hashed: str, email: str, purpose: str, *, now: datetime,
              expires_at: datetime | None = None, data: dict | None = None) -> None:
    conn.execute(statement("journal_token_insert"), {
        "hash": hashed, "email": email, "purpose": purpose, "created_at": stamp(now),
        "expires_at": stamp(expires_at) if expires_at else None,
        "data": json.dumps(data, ensure_ascii=False) if data is not None else None})


def find_token(home: Path, hashed: str) -> dict | None:
    with connect(home) as conn:
        row = conn.execute(statement("journal_token_find"), {"hash": hashed}).fetchone()
    if row is None:
        return None
    return {"hash": row[0], "email": row[1], "purpose": row[2], "created_at": parse_stamp(row[3]),
            "expires_at": parse_stamp(row[4]) if row[4] else None, "used_at": parse_stamp(row[5]) if row[5] else None,
            "data": json.loads(row[6]) if row[6] else None}


def use_token(conn: sqlite3.Connection, hashed: str, *, now: datetime) -> tuple[str, dict] | None:
    """Mark a confirmation token used; None if it is unknown, not a confirmation token, expired or
    was used already."""
    row = conn.execute(statement("journal_token_use"), {"hash": hashed, "now": stamp(now)}).fetchone()
    return (row[0], json.loads(row[1]) if row[1] else {}) if row else None


# --- confirmation mails (rate limits) ------------------------------------------------------------

def confirmation_mails_in_last_hour(conn: sqlite3.Connection, email: str, client: str, *,
                                    now: datetime) -> tuple[int, int]:
    row = conn.execute(statement("journal_mails_count"), {
        "email": email, "client": client, "since": stamp(now - timedelta(hours=1))}).fetchone()
    return row[0], row[1]


def log_confirmation_mail(conn: sqlite3.Connection, email: str, client: str, *, now: datetime) -> None:
    conn.execute(statement("journal_mail_insert"), {"at": stamp(now), "email": email, "client": client})


def prune(home: Path, *, now: datetime) -> None:
    """Forget what nobody needs any more (sql/journal_prune.sql)."""
    params = {"now": stamp(now), "day_ago": stamp(now - timedelta(days=1)),
              "two_years_ago": stamp(now - timedelta(days=730)), "sixty_days_ago": stamp(now - timedelta(days=60))}
    with connect(home, durable=False) as conn, transaction(conn):
        for sql in statements("journal_prune"):
            conn.execute(sql, {k: v for k, v in params.items() if f":{k}" in sql})
