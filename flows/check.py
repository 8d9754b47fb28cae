"""`spacedigest sources check`: fetch once and show what each source would yield, without
touching the warehouse."""
from __future__ import annotations

from flows.settings import Settings
from sources.catalog import load_catalog
from sources.models import SourceError


def check_sources(settings: Settings, ids: list[str]) -> int:
    from sources import retrieve
    from sources.pipeline import interpret, parse_body
    from sources.robots import RobotsCache

    catalog = load_catalog(settings.sources)
    chosen = [s for s in catalog if not ids or s.id in ids]
    unknown = sorted(set(ids) - {s.id for s in catalog})
    if unknown:
        print(f"sources check: unknown source id(s): {', '.join(unknown)}")
        return 2
    session = retrieve.new_session()
    robots = RobotsCache(session=session)
    failed = 0
    for source in chosen:
        print(f"== {source.id} ({source.organisation}, {source.kind}) {source.url}")
        if source.kind == "html":
            allowed, reason = robots.allowed(source.url)
            if not allowed:
                print(f"   FAILED {reason}")
                failed += 1
                continue
        fetched = retrieve.fetch(source.id, source.url, None, session=session)
        if fetched.status != "ok":
            print(f"   FAILED {fetched.error or fetched.status}")
            failed += 1
            continue
        body = fetched.body or b""
        print(f"   HTTP {fetched.http_status}, {fetched.bytes} bytes, {fetched.content_type}")
        try:
            if source.kind == "html":
                from sources.html import describe_selectors

                for line in describe_selectors(body, url=fetched.final_url or source.url, source=source):
                    print(f"   {line}")
            result = parse_body(source, body, url=fetched.final_url or source.url, content_type=fetched.content_type)
            announcements = interpret(source, [result], url=fetched.final_url or source.url,
                                      fetched_at=fetched.fetched_at)
        except SourceError as exc:
            print(f"   FAILED {exc}")
            failed += 1
            continue
        print(f"   {len(announcements)} announcements; first ones:")
        for a in announcements[:5]:
            deadline = f", deadline {a.deadline}" if a.deadline else ""
            print(f"   - {a.published_at:%Y-%m-%d} [{a.category}{deadline}] {a.title[:80]} <{a.url}>")
    print(f"sources check: {len(chosen) - failed} ok, {failed} failed")
    return 3 if failed else 0
