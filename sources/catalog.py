"""The sources catalog: a TOML file of `[[source]]` tables, validated into `Source` records.

The built-in catalog ships beside this module; `SPACEDIGEST_SOURCES` (read by the CLI) may point
at another file in the same form. Every validation error is one line naming the file, the
position and id of the offending entry, and the reason, so an operator can fix it at once.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spacedigest.sources.kinds import UnknownKind, json_kind, kind_named, known_kinds
from spacedigest.sources.models import Source

BUILTIN_CATALOG: Path = Path(__file__).with_name("catalog.toml")

ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# ISO 639-1 code, optionally with a region ("en", "ja", "fr", "en-GB").
LANGUAGE_RE = re.compile(r"^[a-z]{2}(?:-[A-Za-z]{2})?$")
REQUIRED = ("id", "organisation", "kind", "url")
# Keys that map onto Source fields; every other key is an option of the source's kind, checked
# against the options that kind declares (sources.kinds).
FIELDS = ("id", "organisation", "kind", "url", "language", "enabled", "name", "country", "expected_period_days",
          "timezone", "headers")
# An HTTP header name (RFC 9110 token); values must not hold CR, LF or other controls.
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Headers the retrieval sets itself: a catalog entry cannot switch off compression limits or
# conditional requests by accident.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding",
                              "if-none-match", "if-modified-since"})


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
    for key in ("id", "organisation", "kind", "url", "language", "name", "country", "timezone"):
        if key in table and not isinstance(table[key], str):
            raise fail(f"'{key}' must be a string")
    source_id = table["id"]
    if not ID_RE.match(source_id):
        raise fail(f"invalid id '{source_id}': use lower-case letters, digits and '-'")
    if not table["organisation"].strip():
        raise fail("'organisation' is empty")
    url = table["url"].strip()
    parts = urlsplit(url)
    if table["kind"] not in known_kinds():
        raise fail(f"unknown kind '{table['kind']}' (expected one of: {', '.join(known_kinds())})")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail(f"url '{url}' is not an http(s) URL")
    raw_options = {k: v for k, v in table.items() if k not in FIELDS}
    try:
        kind = json_kind(raw_options.pop("api", None), url) if table["kind"] == "json" else table["kind"]
        options = build_options(kind_named(kind).options, raw_options, kind)
    except (UnknownKind, OptionError) as exc:
        raise fail(str(exc)) from None
    language = table.get("language", "en")
    if not LANGUAGE_RE.match(language):
        raise fail(f"invalid language '{language}' (expected an ISO 639-1 code such as 'en', 'fr', 'ja')")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("'enabled' must be true or false")
    period = table.get("expected_period_days", 30)
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0:
        raise fail("'expected_period_days' must be a positive whole number")
    zone = table.get("timezone", "UTC").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown timezone '{zone}' (expected an IANA name such as 'Europe/Paris')") from None
    try:
        headers = parse_headers(table.get("headers", {}))
    except OptionError as exc:
        raise fail(str(exc)) from None
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
        timezone=zone,
        headers=headers,
        options=options,
    )


def parse_headers(value: Any) -> tuple[tuple[str, str], ...]:
    """The `headers` table of a catalog entry ({"Accept-Language" = "ja"}) as (name, value) pairs."""
    if not isinstance(value, dict):
        raise OptionError("'headers' must be a table of header names and values, "
                          "e.g. headers = { \"Accept-Language\" = \"ja\" }")
    pairs = []
    for name, text in value.items():
        if not HEADER_NAME_RE.match(name):
            raise OptionError(f"header name {name!r} is not a valid HTTP header name")
        if name.lower() in RESERVED_HEADERS:
            raise OptionError(f"header '{name}' is set by the retrieval itself and cannot be configured")
        if not isinstance(text, str):
            raise OptionError(f"header '{name}' must be a string")
        if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in text):
            raise OptionError(f"header '{name}' holds a control character (CR, LF, ...)")
        pairs.append((name, text.strip()))
    return tuple(pairs)


class OptionError(ValueError):
    """A kind option that cannot be used; the message is one line."""


def build_options(cls: type, values: dict[str, Any], kind: str) -> Any:
    """The kind's options dataclass from catalog values: every key must be one it declares, every
    value of the declared type (str, bool, whole number >= 0, list of strings, table of strings)."""
    declared = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in declared:
            close = difflib.get_close_matches(key, declared, n=1)
            hint = f"did you mean '{close[0]}'?" if close else (
                f"known: {', '.join(declared)}" if declared else f"a {kind} source takes no options")
            raise OptionError(f"unknown option '{key}' for a {kind} source ({hint})")
    hints = _type_hints(cls)
    converted = {}
    for key, value in values.items():
        converted[key] = _typed(key, value, hints[key])
    for name, spec in declared.items():
        if name not in converted and spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise OptionError(spec.metadata.get("required") or f"a {kind} source needs '{name}'")
    return cls(**converted)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # resolving the string annotations costs ~1 ms; a catalog asks the same few classes again and again
    return typing.get_type_hints(cls)


def _typed(key: str, value: Any, hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = typing.get_origin(hint)
    if base in (typing.Union, types.UnionType) and len(args) == 1:  # "str | None"
        return _typed(key, value, args[0])
    if hint is bool:
        if not isinstance(value, bool):
            raise OptionError(f"'{key}' must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OptionError(f"'{key}' must be a whole number >= 0")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise OptionError(f"'{key}' must be a string")
        return value
    if base is tuple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                           for v in items):
            raise OptionError(f"'{key}' must be a list of strings")
        return tuple(str(v) for v in items)
    if base is dict or hint is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise OptionError(f"'{key}' must be a table of strings")
        return dict(value)
    return value


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
            "timezone": source.timezone,
        }
        for key, value in standard.items():
            if key in ("name", "country") and not value or key == "timezone" and value == "UTC":
                continue
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        if source.headers:
            lines.append(f"headers = {_toml_value(dict(source.headers))}")
        for key, value in options_of(source).items():
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def options_of(source: Source) -> dict[str, Any]:
    """The options a catalog entry must state to give `source`: those that differ from the defaults."""
    if source.options is None:
        return {}
    found = {}
    # The kind's own keys first (an html source's item_selector before the item-page keys it shares).
    own = set(getattr(type(source.options), "__annotations__", {}))
    for spec in sorted(dataclasses.fields(source.options), key=lambda spec: spec.name not in own):
        value = getattr(source.options, spec.name)
        default = spec.default if spec.default is not dataclasses.MISSING else (
            spec.default_factory() if spec.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        if value is not None and value != default:
            found[spec.name] = value
    return found


def toml_line(key: str, value: Any) -> str:
    """One `key = value` line of a catalog entry."""
    return f"{_toml_key(key)} = {_toml_value(value)}"


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
