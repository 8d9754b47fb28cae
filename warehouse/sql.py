"""The warehouse's SQL lives in .sql files beside this module (warehouse/sql/NAME.sql)."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def statement(name: str) -> str:
    """The text of warehouse/sql/NAME.sql."""
    return resources.files("warehouse").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file, in order (our files keep ';' out of literals)."""
    return [s.strip() for s in statement(name).split(";\n") if s.strip() and not _only_comments(s)]


def _only_comments(text: str) -> str:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
