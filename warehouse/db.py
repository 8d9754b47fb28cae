"""Opening the warehouse: one writer at a time, migrations, and the staff copy.

DuckDB allows one writing process per file and refuses read-only opens while it writes.
So the pipeline keeps two files under $SPACEDIGEST_HOME:

- `warehouse.duckdb` — written only by spacedigest, inside `writer()`, and only while loading;
  an exclusive lock file serialises our own writers (a run waits for another, never collides);
- `staff/warehouse.duckdb` — a read-only copy published after every write.
  (Changes members make on the web wait in the journal beside them, `journal.sqlite`, and every
  writer applies them first: see warehouse/journal.py.) Staff and
  `spacedigest query` use it. It is replaced by an atomic rename, so a staff session that keeps
  it open keeps reading the previous version and never blocks (or is broken by) a run.
"""
from __future__ import annotations

import fcntl
import re
import time
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

from spacedigest.sources.files import copy_atomic

WAREHOUSE_FILE = "warehouse.duckdb"
STAFF_FILE = Path("staff") / "warehouse.duckdb"
LOCK_FILE = "warehouse.lock"


class WarehouseError(Exception):
    """A warehouse problem explained in one line."""


def warehouse_path(home: Path) -> Path:
    return Path(home) / WAREHOUSE_FILE


def staff_path(home: Path) -> Path:
    return Path(home) / STAFF_FILE


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every numbered .sql file, in order."""
    found = []
    for entry in resources.files("spacedigest.warehouse").joinpath("migrations").iterdir():
        m = re.fullmatch(r"(\d+)_(.+)\.sql", entry.name)
        if m:
            found.append((int(m[1]), m[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the missing migrations, each in its own transaction; returns the versions applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    # Every migration not yet recorded, in order: numbers are handed out ahead of time, so 004 may
    # arrive after 006 has been applied and must still run.
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except Exception as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {version:03d}_{name}.sql failed: {exc}") from exc
        applied.append(version)
    return applied


def _connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")  # timestamps come back as UTC, whatever the machine says
    return con


@contextmanager
def _exclusive(lock_path: Path, wait_s: float) -> Iterator[None]:
    """Serialise spacedigest's own writers; waits for a running one instead of failing."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseError(
                        f"another spacedigest process has held {lock_path} for more than {wait_s:.0f} s; try again later"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def writer(home: Path, *, wait_s: float = 600.0, publish_copy: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """The write connection: hold it only while loading, never while waiting on the network."""
    home = Path(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"cannot create data folder {home}: {exc.strerror}") from exc
    with _exclusive(home / LOCK_FILE, wait_s):
        path = warehouse_path(home)
        try:
            con = _connect(path)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open {path} for writing: {_one_line(exc)}") from exc
        try:
            migrate(con)
            # What members did on the web comes first: whatever this writer does next sees it.
            from spacedigest.warehouse.journal import apply_changes

            apply_changes(con, home)
            yield con
            con.execute("CHECKPOINT")
        except duckdb.IOException as exc:
            raise WarehouseError(f"cannot write {path}: {_one_line(exc)} (is the disk full?)") from exc
        except duckdb.FatalException as exc:
            raise WarehouseError(f"cannot write {path}: {_one_line(exc)} (is the disk full? the last committed "
                                 "state is kept)") from exc
        finally:
            try:
                con.close()
            except duckdb.Error:
                pass  # already invalidated by the error above
        if publish_copy:
            publish(home)


def publish(home: Path) -> Path:
    """Copy the (checkpointed, closed) warehouse to the staff file by atomic rename."""
    source = warehouse_path(home)
    target = staff_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        return copy_atomic(source, target)
    except OSError as exc:
        raise WarehouseError(f"cannot publish the staff copy: {exc}") from exc


def writer_busy(home: Path) -> bool:
    """Whether a spacedigest writer holds the warehouse right now (a collect loading, a send starting)."""
    path = Path(home) / LOCK_FILE
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def staff_is_current(home: Path) -> bool:
    """The staff copy exists and has every migration (the web app reads it)."""
    path = staff_path(home)
    if not path.exists():
        return False
    try:
        con = _connect(path, read_only=True)
    except duckdb.Error:
        return False
    try:
        done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
        return {version for version, _, _ in migrations()} <= done
    except duckdb.Error:
        return False
    finally:
        con.close()


@contextmanager
def reader(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection on the staff copy (created, with the schema, if there is none yet)."""
    path = staff_path(home)
    if not path.exists():
        with writer(home):
            pass
    try:
        con = _connect(path, read_only=True)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open {path} read-only: {_one_line(exc)}") from exc
    try:
        yield con
    finally:
        con.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
