"""Source kinds: one adapter per kind of source behind one small protocol, found through a registry.

The pipeline (sources.pipeline), `sources check` and `reprocess` only talk to this protocol; none
of them branches on a kind's name. Adding a kind is one new module with a `KIND` object and one
line in `REGISTRY` below.

A kind says how to ask for the source (`request`, `next_request` for more pages), how to read
what came back (`parse`), which item pages are worth fetching (`detail_targets`, `parse_detail`),
what to fall back on when the source fails (`fallback`, which may look around the site through the
retriever it is given), and which options it takes: `options`
is a frozen dataclass, and the catalog refuses any key it does not declare (a misspelt selector
is an error naming the source and the key, not a silently ignored setting).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Protocol

from spacedigest.sources.models import (
    Entry, Fallback, Fetched, ParseError, ParseResult, Request, Source, Validators,
)

# name -> "module:attribute" of its adapter; modules are imported on first use (start-up stays fast).
REGISTRY: dict[str, str] = {
    "feed": "spacedigest.sources.feed:KIND",
    "html": "spacedigest.sources.html:KIND",
    "wordpress": "spacedigest.sources.wordpress:KIND",
    "eu-funding-tenders": "spacedigest.sources.eu_funding_tenders:KIND",
    "sitemap": "spacedigest.sources.sitemap:KIND",
}
# The catalog's generic "json" kind names its API with `api`; these are the values it takes.
JSON_APIS: dict[str, str] = {
    "wordpress": "wordpress", "wp": "wordpress",
    "ft-search": "eu-funding-tenders", "sedia": "eu-funding-tenders", "eu-ft": "eu-funding-tenders",
    "funding-tenders": "eu-funding-tenders", "eu-funding-tenders": "eu-funding-tenders",
}


class Retriever(Protocol):
    """Where bytes come from: the live web (sources.retrieve.HttpRetriever) or a run's captures
    (warehouse.captures.CaptureRetriever)."""

    def fetch(self, source_id: str, request: Request, validators: Validators | None = None) -> Fetched:
        """The outcome of one request; never raises for the network's or the server's problems."""

    def allowed(self, url: str) -> tuple[bool, str | None]:
        """May this page be fetched (robots.txt), and if not, why."""


class SourceKind(Protocol):
    name: str
    options: type  # a frozen dataclass of the kind's catalog options
    obeys_robots: bool  # pages are fetched as a reader's browser would: robots.txt applies

    def request(self, source: Source, url: str) -> Request:
        """The first request for the source (at `url`, its current address)."""

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        """A fetched body -> entries; ParseError with a one-line reason when it cannot be read."""

    def next_request(self, source: Source, last: Fetched, number: int) -> Request | None:
        """The request for page `number` (2, 3, ...) after `last`, or None when there is none."""

    def detail_targets(self, source: Source, pages: list[ParseResult]) -> list[str]:
        """Item pages worth fetching this run (bounded by the kind's options)."""

    def parse_detail(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> Entry:
        """What an item's own page adds to its listing entry."""

    def fallback(self, source: Source, failed: Fetched, look: Retriever) -> Fallback | None:
        """Another way to read the same items when this source failed (a site's own feed).
        `failed` is the source's own fetch (the page that loaded, or the error); `look` fetches
        what finding another way needs, each request logged and captured with the source's."""

    def describe(self, source: Source, body: bytes, *, url: str) -> list[str]:
        """Human lines for `sources check`: what the kind's options matched on the body."""


@dataclass(frozen=True)
class NoOptions:
    """A kind without catalog options."""


class BaseKind:
    """Defaults for a kind that reads one document per source: no pages, details or fallback."""

    name = ""
    options: type = NoOptions
    obeys_robots = False

    def request(self, source: Source, url: str) -> Request:
        return Request(url)

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        raise NotImplementedError

    def next_request(self, source: Source, last: Fetched, number: int) -> Request | None:
        return None

    def detail_targets(self, source: Source, pages: list[ParseResult]) -> list[str]:
        return []

    def parse_detail(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> Entry:
        raise ParseError(f"{self.name} sources have no item pages")

    def fallback(self, source: Source, failed: Fetched, look: Retriever) -> Fallback | None:
        return None

    def describe(self, source: Source, body: bytes, *, url: str) -> list[str]:
        return []


class UnknownKind(ValueError):
    """A kind name the registry does not know; the message is one line."""


@lru_cache(maxsize=None)
def kind_named(name: str) -> SourceKind:
    target = REGISTRY.get(name)
    if target is None:
        raise UnknownKind(f"unknown kind '{name}' (expected one of: {', '.join(known_kinds())})")
    module, attribute = target.split(":")
    return getattr(import_module(module), attribute)


def kind_of(source: Source) -> SourceKind:
    return kind_named(source.kind)


def known_kinds() -> tuple[str, ...]:
    """The registry's kinds and the catalog's generic "json" (which names its `api`)."""
    return (*REGISTRY, "json")


def json_kind(api: str | None, url: str) -> str:
    """The kind of a catalog "json" source: from its `api` option, else from its URL."""
    if api:
        kind = JSON_APIS.get(str(api).lower())
        if kind is None:
            raise UnknownKind(f"unknown api '{api}' (expected 'wordpress' or 'ft-search')")
        return kind
    if "/wp-json/" in url or "rest_route=" in url:
        return "wordpress"
    if "search-api" in url and "europa.eu" in url:
        return "eu-funding-tenders"
    raise UnknownKind("a json source needs an 'api' option ('wordpress' or 'ft-search')")


def resolve(kind: str, body: bytes) -> str:
    """The kind of a local file named `kind` on the command line: the generic "json" reads the file
    to tell which API answered."""
    return sniff_json(body) if kind == "json" else kind


def sniff_json(body: bytes) -> str:
    """The kind of a local JSON file (`spacedigest parse --kind json`): a list of posts is
    WordPress, an object with `results` is a Funding & Tenders search answer."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"invalid JSON: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return "eu-funding-tenders"
    return "wordpress"
