"""The sources catalog: a TOML file of `[[source]]` tables, validated into `Source` records.

The built-in catalog ships beside this module; `SPACEDIGEST_SOURCES` (read by the CLI) may point
at another file in the same form. Every validation error is one line naming the file, the
position and id of the offending entry, and the reason, so an operator can fix it at once.
"""
from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from spacedigest.sources.models import Source

BUILTIN_CATALOG: Path = Path(__file__).with_name("catalog.toml")

KINDS = ("feed", "html", "json")
ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# ISO 639-1 code, optionally with a region ("en", "ja", "fr", "en-GB").
LANGUAGE_RE = re.compile(r"^[a-z]{2}(?:-[A-Za-z]{2})?$")
REQUIRED = ("id", "organisation", "kind", "url")
# Keys that map onto Source fields; every other key is kind-specific and goes to Source.options.
FIELDS = ("id", "organisation", "kind", "url", "language", "enabled", "name", "country", "expected_period_days")


class CatalogError(Exception):
    """A catalog that cannot be used; the message is one line."""


def load_catalog(path: Path | None = None) -> list[Source]:
    """Read and validate a catalog file (None: the built-in one)."""
    path = Path(path) if path is not None else BUILTIN_CATALOG
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: the catalog is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: invalid TOML: {_one_line(str(exc))}") from None
    return sources_from_data(data, origin=str(path))


def sources_from_data(data: dict[str, Any], *, origin: str = "<catalog>") -> list[Source]:
    """Validate already-parsed catalog data (the TOML document as a dict)."""
    tables = data.get("source")
    if tables is None:
        raise CatalogError(f"{origin}: no [[source]] entries")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise CatalogError(f"{origin}: 'source' must be an array of tables ([[source]])")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for position, table in enumerate(tables, start=1):
        source = _validate(table, position, origin)
        if source.id in seen:
            raise CatalogError(
                f"{origin}: source #{position} '{source.id}': duplicate id (first used by source #{seen[source.id]})"
            )
        seen[source.id] = position
        sources.append(source)
    return sources


def _validate(table: dict[str, Any], position: int, origin: str) -> Source:
    raw_id = table.get("id")
    label = f"source #{position} '{raw_id}'" if isinstance(raw_id, str) and raw_id else f"source #{position}"

    def fail(reason: str) -> CatalogError:
        return CatalogError(f"{origin}: {label}: {reason}")

    for key in REQUIRED:
        if key not in table:
            raise fail(f"missing key '{key}'")
    for key in ("id", "organisation", "kind", "url", "language", "name", "country"):
        if key in table and not isinstance(table[key], str):
            raise fail(f"'{key}' must be a string")
    source_id = table["id"]
    if not ID_RE.match(source_id):
        raise fail(f"invalid id '{source_id}': use lower-case letters, digits and '-'")
    if not table["organisation"].strip():
        raise fail("'organisation' is empty")
    kind = table["kind"]
    if kind not in KINDS:
        raise fail(f"unknown kind '{kind}' (expected one of: {', '.join(KINDS)})")
    url = table["url"].strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail(f"url '{url}' is not an http(s) URL")
    language = table.get("language", "en")
    if not LANGUAGE_RE.match(language):
        raise fail(f"invalid language '{language}' (expected an ISO 639-1 code such as 'en', 'fr', 'ja')")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("'enabled' must be true or false")
    period = table.get("expected_period_days", 30)
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0:
        raise fail("'expected_period_days' must be a positive whole number")
    options = {k: v for k, v in table.items() if k not in FIELDS}
    if kind == "html" and not isinstance(options.get("item_selector"), str):
        raise fail("an html source needs 'item_selector' (the CSS selector of one listing item)")
    for key in ("detail_limit", "max_items", "max_pages"):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise fail(f"'{key}' must be a whole number >= 0")
    return Source(
        id=source_id,
        organisation=table["organisation"].strip(),
        kind=kind,
        url=url,
        language=language,
        enabled=enabled,
        name=table.get("name", "").strip(),
        country=table.get("country", "").strip(),
        expected_period_days=period,
        options=options,
    )


def dump_catalog(sources: list[Source]) -> str:
    """The sources as catalog TOML (loadable by `load_catalog`), for export and for adding sources."""
    lines = [
        "# spacedigest sources catalog: one [[source]] table per source.",
        "# Keys beyond the standard ones are kind-specific options (selectors, date format, api, ...).",
    ]
    for source in sources:
        lines.append("")
        lines.append("[[source]]")
        standard = {
            "id": source.id,
            "organisation": source.organisation,
            "name": source.name,
            "country": source.country,
            "language": source.language,
            "kind": source.kind,
            "url": source.url,
            "enabled": source.enabled,
            "expected_period_days": source.expected_period_days,
        }
        for key, value in standard.items():
            if key in ("name", "country") and not value:
                continue
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        for key, value in source.options.items():
            if value is None:
                continue
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string, except that TOML forbids a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + inner + " }" if inner else "{}"
    raise CatalogError(f"cannot write a value of type {type(value).__name__} to the catalog")


def _one_line(text: str) -> str:
    return " ".join(text.split())
