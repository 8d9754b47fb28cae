"""`spacedigest sources check`: fetch once and show, per source, what each selector matched and
the first announcements collect would extract — without touching the warehouse."""
from __future__ import annotations

from spacedigest.flows.settings import Settings
from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.models import SourceError


def check_sources(settings: Settings, ids: list[str]) -> int:
    from spacedigest.sources import retrieve
    from spacedigest.sources.pipeline import collect_source
    from spacedigest.sources.robots import RobotsCache

    catalog = load_catalog(settings.sources)
    unknown = sorted(set(ids) - {s.id for s in catalog})
    if unknown:
        print(f"sources check: unknown source id(s): {', '.join(unknown)}")
        return 2
    chosen = [s for s in catalog if not ids or s.id in ids]
    session = retrieve.new_session()
    robots = RobotsCache(session=session)
    failed = 0
    for source in chosen:
        print(f"== {source.id} ({source.organisation}, {source.kind}) {source.url}")
        # The same path as collect (robots.txt, pagination, detail pages, fallback feed).
        result = collect_source(source, session=session, robots=robots)
        fetched = result.fetched
        if fetched.http_status:
            print(f"   HTTP {fetched.http_status}, {fetched.bytes} bytes, {fetched.content_type}")
        if source.kind == "html" and result.bodies:
            from spacedigest.sources.html import describe_selectors

            listing, body = result.bodies[0]
            try:
                for line in describe_selectors(body, url=listing.final_url or source.url, source=source):
                    print(f"   {line}")
            except SourceError as exc:
                print(f"   {exc}")
        if result.error:
            print(f"   FAILED {result.error}")
            failed += 1
            continue
        print(f"   {len(result.announcements)} announcements; first ones:")
        for a in result.announcements[:5]:
            deadline = f", deadline {a.deadline}" if a.deadline else ""
            print(f"   - {a.published_at:%Y-%m-%d} [{a.category}{deadline}] {a.title[:80]} <{a.url}>")
    print(f"sources check: {len(chosen) - failed} ok, {failed} failed")
    return 3 if failed else 0
