"""`spacedigest sources check`: fetch once and show, per source, what its kind's options matched
and the first announcements collect would extract — without touching the warehouse."""
from __future__ import annotations

from spacedigest.flows.settings import Settings
from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.kinds import kind_of
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import HttpRetriever


def check_sources(settings: Settings, ids: list[str]) -> int:
    catalog = load_catalog(settings.sources)
    unknown = sorted(set(ids) - {s.id for s in catalog})
    if unknown:
        print(f"sources check: unknown source id(s): {', '.join(unknown)}")
        return 2
    chosen = [s for s in catalog if not ids or s.id in ids]
    retriever = HttpRetriever()
    failed = 0
    try:
        for source in chosen:
            failed += not _check(source, retriever)
    finally:
        retriever.close()
    print(f"sources check: {len(chosen) - failed} ok, {failed} failed or served only by a fallback")
    return 3 if failed else 0


def _check(source, retriever) -> bool:
    print(f"== {source.id} ({source.organisation}, {source.kind}) {source.url}")
    # The same path as collect (robots.txt, pagination, item pages, fallback).
    result = collect_source(source, retriever=retriever)
    fetched = result.fetched
    if fetched.http_status:
        print(f"   HTTP {fetched.http_status}, {fetched.bytes} bytes, {fetched.content_type}")
    listing = result.others[0].fetched if result.served_by and result.others else fetched
    if listing.body:
        for line in kind_of(source).describe(source, listing.body, url=listing.where):
            print(f"   {line}")
    if result.error:
        print(f"   FAILED {result.error}")
        return False
    if result.served_by:
        print(f"   FAILED {result.primary_error}")
        print(f"   collect would use the fallback: {result.served_by.removeprefix('fallback: ')} "
              f"(items marked \"served by {result.served_by}\")")
    print(f"   {len(result.announcements)} announcements{' through the fallback' if result.served_by else ''}; "
          f"first ones:")
    for a in result.announcements[:5]:
        deadline = f", deadline {a.deadline}" if a.deadline else ""
        print(f"   - {a.published_at:%Y-%m-%d} [{a.category}{deadline}] {a.title[:80]} <{a.url}>")
    return not result.served_by  # served, but its own way needs the fix shown above
