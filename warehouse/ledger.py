"""The delivery ledger: each subscriber gets each digest exactly once, whatever runs at the same time.

Before a message goes out, its send claims (digest, subscriber) in the journal's `sends` table, in a
transaction of its own; when the server has answered, the row becomes `sent` or `rejected` (a
temporary failure gives the claim back, so the next send retries at once). A second send running at
the same time finds the row and leaves that subscriber alone; a send killed half-way leaves claims
whose owner is gone: on this machine they are taken over at once (the owner's process is checked),
from another machine after the lease (LEASE) runs out. The final rows are copied into the
warehouse's `deliveries` (staff query them there) by the next writer that calls `move_results`.

What remains: a process killed after the server accepted a message and before the ledger row was
written (the time it takes to commit one row) sends that message again; the safe side for a digest.
"""
from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator

import duckdb

from spacedigest.reports.subscribers import new_token, token_hash
from spacedigest.sources.models import Subscriber
from spacedigest.warehouse import deliveries, journal
from spacedigest.warehouse.sql import statement

LEASE = timedelta(minutes=15)  # far longer than one message takes (two 30 s SMTP timeouts at most)


def _process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot, Linux), so a reused pid is not taken for it;
    None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"
        return "?"


def owner_id() -> str:
    """host/pid/process start/nonce: each send its own owner, also two in one process."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_process_start(pid)}/{secrets.token_hex(4)}"


def owner_is_gone(owner: str) -> bool:
    """True only when the owner ran on this machine and its process no longer exists."""
    try:
        host, pid, started = owner.split("/")[:3]
        pid_number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False  # another machine: wait for the lease
    now_started = _process_start(pid_number)
    return now_started is None or (now_started != "?" and started != "?" and now_started != started)


@dataclass
class Claims:
    """One send's side of the ledger for one digest."""

    home: Path
    digest_id: int
    owner: str = field(default_factory=owner_id)
    lease: timedelta = LEASE
    busy: list[str] = field(default_factory=list)  # addresses another live send is mailing right now
    done_meanwhile: int = 0  # sent (or refused for good) by another send since this one looked
    _conn: object = None

    def __enter__(self) -> "Claims":
        self._cm = journal.connect(self.home, durable=False)
        self._conn = self._cm.__enter__()
        self._expire_gone_owners()
        return self

    def __exit__(self, *exc) -> None:
        try:
            with journal.transaction(self._conn):
                self._conn.execute(statement("ledger_release_owner"), {"owner": self.owner})
        finally:
            self._cm.__exit__(*exc)

    def _expire_gone_owners(self) -> None:
        for (owner,) in self._conn.execute(statement("ledger_claim_owners")).fetchall():
            if owner != self.owner and owner_is_gone(owner):
                with journal.transaction(self._conn):
                    self._conn.execute(statement("ledger_expire_owner"), {"owner": owner})

    def done(self) -> set[int]:
        rows = self._conn.execute(statement("ledger_done"), {"digest_id": self.digest_id}).fetchall()
        return {r[0] for r in rows}

    def claim(self, sub: Subscriber, *, now: datetime | None = None) -> str | None:
        """Claim this subscriber's message; returns the raw token its links carry (its hash is
        stored with it), or None when it was sent already or another live send has it."""
        now = now or datetime.now(timezone.utc)
        key = {"digest_id": self.digest_id, "subscriber_id": sub.id}
        with journal.transaction(self._conn):
            won = self._conn.execute(statement("ledger_claim"), {
                **key, "owner": self.owner, "lease_until": journal.stamp(now + self.lease),
                "now": journal.stamp(now)}).fetchone()
            if won is None:
                state = self._conn.execute(statement("ledger_state"), key).fetchone()
                if state and state[0] == "claimed":
                    self.busy.append(sub.email)
                else:
                    self.done_meanwhile += 1
                return None
            raw = new_token()
            journal.put_token(self._conn, token_hash(raw), sub.email, "mail", now=now)
        return raw

    def claimed(self, subscribers: Iterable[Subscriber]) -> Iterator[Subscriber]:
        """The subscribers this send won, each with the token of its own message, claimed one by
        one just before its message is built (so two sends share the work instead of both sending)."""
        for sub in subscribers:
            raw = self.claim(sub)
            if raw is not None:
                yield replace(sub, token=raw)

    def finish(self, sub: Subscriber, *, sent: bool, message_id: str | None, error: str | None) -> None:
        """The server's final answer: sent, or refused for good."""
        with journal.transaction(self._conn):
            self._conn.execute(statement("ledger_finish"), {
                "digest_id": self.digest_id, "subscriber_id": sub.id, "owner": self.owner,
                "state": "sent" if sent else "rejected", "now": journal.stamp(datetime.now(timezone.utc)),
                "message_id": message_id, "error": error})

    def release(self, sub: Subscriber) -> None:
        """A temporary failure: the next send tries this subscriber again."""
        with journal.transaction(self._conn):
            self._conn.execute(statement("ledger_release"), {
                "digest_id": self.digest_id, "subscriber_id": sub.id, "owner": self.owner})


def move_results(con: duckdb.DuckDBPyConnection, home: Path) -> int:
    """Copy final ledger rows into `deliveries` (a row already there stays as it was)."""
    if not journal.journal_path(home).exists():
        return 0
    with journal.connect(home, durable=False) as conn:
        rows = conn.execute(statement("ledger_to_move")).fetchall()
        if not rows:
            return 0
        deliveries.record_deliveries(con, [
            {"digest_id": r[0], "subscriber_id": r[1], "status": r[2], "delivered_at": journal.parse_stamp(r[3]),
             "message_id": r[4], "error": r[5]} for r in rows])
        with journal.transaction(conn):
            conn.executemany(statement("ledger_moved"), [{"digest_id": r[0], "subscriber_id": r[1]} for r in rows])
    return len(rows)
