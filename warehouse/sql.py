"""The warehouse's SQL lives in .sql files beside this module (warehouse/sql/NAME.sql)."""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Iterator


@lru_cache(maxsize=None)
def statement(name: str) -> str:
    """The text of warehouse/sql/NAME.sql."""
    return resources.files("spacedigest.warehouse").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file, in order (our files keep ';' out of literals)."""
    return [s.strip() for s in statement(name).split(";\n") if s.strip() and not _only_comments(s)]


def _only_comments(text: str) -> str:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


@contextmanager
def transaction(con, begin: str = "BEGIN TRANSACTION") -> Iterator[None]:
    """All or nothing: a failure (or a kill) leaves the warehouse as it was before. `begin`: the
    journal's SQLite takes its write lock at once (BEGIN IMMEDIATE)."""
    con.execute(begin)
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def run_with(con, name: str, params: dict | None = None, **tables) -> list[tuple]:
    """Run warehouse/sql/NAME.sql with Arrow `tables` visible under their keyword names;
    returns the rows of its last statement. Parameters go to the statements that use them."""
    for table_name, table in tables.items():
        con.register(table_name, table)
    try:
        rows: list[tuple] = []
        for sql in statements(name):
            used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
            rows = con.execute(sql, used or None).fetchall()
        return rows
    finally:
        for table_name in tables:
            con.unregister(table_name)
