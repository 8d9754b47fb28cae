"""`spacedigest sources discover URL`: how to follow a site, as a catalog entry ready to paste.

Wiring only: sources.discover finds the way (through the live web), sources.pipeline reads the
first items with it exactly as `collect` would, sources.catalog writes the entry. Everything but
the entry is printed as TOML comments, so the output can be appended to a catalog as it is.
"""
from __future__ import annotations

import tomllib
from dataclasses import replace

from spacedigest.flows.settings import Settings
from spacedigest.sources.catalog import ID_RE, LANGUAGE_RE, dump_catalog, parse_headers, sources_from_data
from spacedigest.sources.discover import AUTO, discover, source_id_for
from spacedigest.sources.models import Source
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import DEFAULT_POLICY, HttpRetriever

FIRST_ITEMS = 5


class DiscoverUsage(ValueError):
    """Bad arguments: the message is one line."""


def template(url: str, *, organisation: str | None, source_id: str | None, language: str | None,
             headers: list[str]) -> Source:
    """What the user said about the source to be; the rest is found."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DiscoverUsage(f"'{url}' is not an http(s) URL")
    source_id = source_id or source_id_for(url)
    if not ID_RE.match(source_id):
        raise DiscoverUsage(f"invalid id '{source_id}': use lower-case letters, digits and '-'")
    if language and not LANGUAGE_RE.match(language):
        raise DiscoverUsage(f"invalid language '{language}' (expected an ISO 639-1 code such as 'en' or 'ja')")
    pairs = {}
    for header in headers:
        name, colon, value = header.partition(":")
        if not colon:
            raise DiscoverUsage(f"--header '{header}' is not 'Name: value'")
        pairs[name.strip()] = value.strip()
    try:
        parsed = parse_headers(pairs)
    except ValueError as exc:
        raise DiscoverUsage(str(exc)) from None
    return Source(id=source_id, organisation=(organisation or "").strip(), kind="feed", url=url,
                  language=language or AUTO, headers=parsed)


def run_discover(settings: Settings, url: str, *, organisation: str | None = None, source_id: str | None = None,
                 language: str | None = None, headers: list[str] = ()) -> int:
    start = template(url, organisation=organisation, source_id=source_id, language=language, headers=list(headers))
    retriever = HttpRetriever(policy=replace(DEFAULT_POLICY, deadline=settings.fetch_deadline))
    try:
        report = discover(url, retriever, start)
        print(f"# spacedigest sources discover {url}")
        for line in tried_lines(report.tried):
            print(f"#   {line}")
        if report.found is None:
            print(f"# nothing to follow at {url}: no feed, WordPress API, sitemap section or list of dated "
                  f"links fits (tried above)")
            return 3
        found = report.found
        source = _round_trip(found.source)
        print(f"# found (step {found.step}): {found.how}")
        result = collect_source(source, retriever=retriever)
    finally:
        retriever.close()
    if result.error:
        print(f"# but reading it failed: {_one_line(result.error)}")
        return 3
    print()
    print(dump_catalog([source]).split("\n", 2)[2].lstrip("\n"), end="")
    print()
    print(f"# first items it yields ({len(result.announcements)} in all):")
    for a in result.announcements[:FIRST_ITEMS]:
        print(f"#   {a.published_at:%Y-%m-%d}  {_one_line(a.title)[:100]}")
        print(f"#               {a.url}")
    return 0


def tried_lines(tried) -> list[str]:
    """What was tried, one line per step and outcome ("2 common feed path: HTTP 404 Not Found: …")."""
    lines: list[tuple[str, str, list[str]]] = []
    for t in tried:
        outcome = _one_line(t.outcome)
        if lines and lines[-1][0] == t.step and lines[-1][1] == outcome:
            lines[-1][2].append(t.where)
        else:
            lines.append((t.step, outcome, [t.where]))
    return [f"{step}: {', '.join(where)}: {outcome}" for step, outcome, where in lines]


def _round_trip(source: Source) -> Source:
    """The source exactly as its printed entry loads (what the user will get)."""
    [loaded] = sources_from_data(tomllib.loads(dump_catalog([source])), origin="discovered entry")
    return loaded


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
