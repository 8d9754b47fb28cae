"""`spacedigest reprocess`: rebuild items from the stored raw captures with the current parsers.

Offline (no network) and idempotent (the loader's identity rules prevent duplicates). Each run's
captures are replayed through the same pipeline as `collect` (sources.pipeline.collect_source),
with a retriever that answers from the captures. Useful after a selector or rule fix, or to
restore items.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from spacedigest.flows.settings import Settings
from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.pipeline import collect_source
from spacedigest.warehouse import captures, db, load


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
    seen_sources = set()
    with db.writer(settings.home) as con:
        for run in captures.captured_runs(con, only):
            source = catalog.get(run.source_id)
            if source is None:
                continue
            retriever = captures.CaptureRetriever(settings.home, source.id, run.captured)
            result = collect_source(source, retriever=retriever, url=run.start_url)
            report.captures += retriever.served
            report.missing += retriever.missing
            if result.error:
                report.errors.append(f"{source.id} {result.fetched.url}: {result.error}")
                continue
            seen_sources.add(source.id)
            stats = load.load_announcements(con, list(result.announcements), seen_at=result.fetched.fetched_at)
            report.found += len(result.announcements)
            report.new += stats.total_new
            report.edited += stats.edited
    report.sources = len(seen_sources)
    return report
