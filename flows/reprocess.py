"""`spacedigest reprocess`: rebuild items from the stored raw captures with the current parsers.

Offline (no network), idempotent (the loader's identity rules prevent duplicates). Useful after
a selector or rule fix, or to restore items.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import groupby

from spacedigest.flows.settings import Settings
from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.models import SourceError
from spacedigest.sources.pipeline import interpret, parse_body
from spacedigest.warehouse import captures, db, load
from spacedigest.warehouse.sql import statement


@dataclass
class ReprocessReport:
    captures: int = 0
    sources: int = 0
    found: int = 0
    new: int = 0
    edited: int = 0
    missing: int = 0
    errors: list[str] = field(default_factory=list)


def reprocess(settings: Settings, *, only: list[str] | None = None) -> ReprocessReport:
    catalog = {s.id: s for s in load_catalog(settings.sources)}
    report = ReprocessReport()
    with db.writer(settings.home) as con:
        rows = con.execute(statement("captured_fetches"), {"only": only}).fetchall()
        seen_sources = set()
        for (run_id, source_id), group in groupby(rows, key=lambda r: (r[0], r[1])):
            source = catalog.get(source_id)
            group = list(group)
            if source is None:
                continue
            pages, details, listing_url, fetched_at = [], {}, None, None
            for _, _, role, url, content_type, key, started_at, requested_url in group:
                body = captures.load(settings.home, key)
                if body is None:
                    report.missing += 1
                    continue
                report.captures += 1
                try:
                    if role == "detail":
                        from spacedigest.sources.html import parse_detail

                        details[url] = parse_detail(body, url=url, source=source)
                    else:
                        # a JSON source read from its fallback feed that day
                        fallback = source.options.get("fallback_url")
                        as_read = replace(source, kind="feed") if fallback and requested_url == fallback else source
                        pages.append(parse_body(as_read, body, url=url, content_type=content_type))
                        listing_url = listing_url or url
                        fetched_at = fetched_at or started_at
                except SourceError as exc:
                    report.errors.append(f"{source_id} {url}: {exc}")
            if not pages:
                continue
            seen_sources.add(source_id)
            announcements = interpret(source, pages, url=listing_url, fetched_at=fetched_at, details=details)
            stats = load.load_announcements(con, announcements, seen_at=fetched_at)
            report.found += len(announcements)
            report.new += stats.total_new
            report.edited += stats.edited
        report.sources = len(seen_sources)
    return report
