"""Staff queries: read-only SQL on the published staff copy, as a table, CSV, JSON or Parquet."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from spacedigest.warehouse import db


class QueryError(Exception):
    """A query problem in one line, with a hint where one helps."""


def run(home: Path, sql: str, *, fmt: str = "table", output: str | None = None) -> str:
    with db.reader(home) as con:
        try:
            rel = con.sql(sql)
        except duckdb.Error as exc:
            raise QueryError(_explain(con, exc)) from None
        if rel is None:  # a statement without a result (SET, PRAGMA ...)
            return ""
        try:
            if fmt == "parquet":
                rel.write_parquet(str(output))
                return f"wrote {rel.shape[0]} rows to {output}"
            columns = rel.columns
            rows = rel.fetchall()
        except duckdb.Error as exc:
            raise QueryError(_explain(con, exc)) from None
    text = {"table": format_table, "csv": format_csv, "json": format_json}[fmt](columns, rows)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        return f"wrote {len(rows)} rows to {output}"
    return text


def _explain(con: duckdb.DuckDBPyConnection, exc: duckdb.Error) -> str:
    message = " ".join(str(exc).split())
    if "read-only" in message or "read only" in message:
        return ("query refused: the warehouse copy is read-only for staff; only spacedigest's own runs write "
                "(use `spacedigest subscribers …` or the catalog to change data)")
    if isinstance(exc, duckdb.CatalogException) or "does not exist" in message:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()]
        return f"{message} — tables and views: {', '.join(n for n in names if n != 'schema_migrations')}"
    return message


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def format_json(columns: list[str], rows: list[tuple]) -> str:
    """An array of objects, one per row."""
    return json.dumps([{c: _plain(v) for c, v in zip(columns, row)} for row in rows], ensure_ascii=False,
                      default=str, indent=1)


def format_csv(columns: list[str], rows: list[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _plain(v) for v in row])
    return buffer.getvalue()


_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")


def _width(text: str) -> int:
    return len(text) + len(_WIDE.findall(text))  # CJK characters take two columns


def _cell(value, limit: int = 60) -> str:
    text = "" if value is None else str(_plain(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_table(columns: list[str], rows: list[tuple]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values):
        return " | ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths)).rstrip()

    out = [line(columns), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
