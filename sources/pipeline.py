"""One source, end to end up to the warehouse: retrieve -> parse -> normalize -> classify.

`interpret` is pure (bytes in, announcements out) and is what `parse` and `reprocess` use;
`collect_source` adds the HTTP edge (listing, pagination, detail pages). Neither raises for a
problem with the source: the result carries a one-line error instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from spacedigest.sources.models import Announcement, Entry, Fetched, ParseError, ParseResult, Source, SourceError, Validators


@dataclass
class SourceResult:
    """What one source yielded in one run."""

    source: Source
    fetched: Fetched  # the main request (its body is dropped once interpreted)
    announcements: list[Announcement] = field(default_factory=list)
    error: str | None = None  # fetch or parse error, one line, reason only
    extra_fetches: list[tuple[str, Fetched]] = field(default_factory=list)  # ("page"|"detail", fetch), logged too
    bodies: list[tuple[Fetched, bytes]] = field(default_factory=list)  # raw bodies to capture

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_body(source: Source, body: bytes, *, url: str, content_type: str | None = None) -> ParseResult:
    """The parser for the source's kind."""
    if source.kind == "feed":
        from spacedigest.sources.feed import parse_feed

        return parse_feed(body, url=url, content_type=content_type)
    if source.kind == "html":
        from spacedigest.sources.html import parse_listing

        return parse_listing(body, url=url, source=source, content_type=content_type)
    if source.kind == "json":
        from spacedigest.sources.jsonapi import parse_json

        return parse_json(body, url=url, source=source)
    raise ParseError(f"unknown source kind '{source.kind}'")


def interpret(source: Source, results: list[ParseResult], *, url: str, fetched_at: datetime,
              details: dict[str, Entry] | None = None) -> list[Announcement]:
    """Parsed pages -> classified announcements. Pure."""
    from spacedigest.sources.classify import enrich
    from spacedigest.sources.normalize import normalize

    merged = ParseResult(entries=[], feed_title=None, feed_link=None)
    for result in results:
        merged.entries.extend(result.entries)
        merged.feed_title = merged.feed_title or result.feed_title
        merged.feed_link = merged.feed_link or result.feed_link
    if details:
        merged.entries = [_with_detail(e, details.get(e.link or "")) for e in merged.entries]
    announcements = normalize(merged, source, fetched_at=fetched_at, base_url=url)
    by_key = {(e.link or "", e.title or ""): e for e in merged.entries}
    enriched = []
    for a in announcements:
        entry = _entry_for(a, merged.entries, by_key)
        enriched.append(
            enrich(
                a,
                fetched_at=fetched_at,
                detail_text=entry.detail_text if entry else None,
                opening_date=entry.opening_date if entry else None,
                deadline=entry.deadline if entry else None,
            )
        )
    return enriched


def interpret_page(source: Source, body: bytes, url: str, content_type: str | None,
                   fetched_at: datetime) -> list[Announcement]:
    """One page's bytes -> classified announcements. Pure; raises SourceError for the source's problems."""
    return interpret(source, [parse_body(source, body, url=url, content_type=content_type)], url=url,
                     fetched_at=fetched_at)


def _entry_for(a: Announcement, entries: list[Entry], by_key: dict) -> Entry | None:
    entry = by_key.get((a.url or "", a.title))
    if entry is not None:
        return entry
    for e in entries:
        if (a.guid and e.guid == a.guid) or (a.url and e.link and a.url in e.link):
            return e
    return None


def _with_detail(entry: Entry, detail: Entry | None) -> Entry:
    if detail is None:
        return entry
    from spacedigest.sources.html import merge_detail

    return merge_detail(entry, detail)


def collect_source(source: Source, *, url: str | None = None, validators: Validators | None = None,
                   policy=None, session=None, limiter=None, robots=None, offload=None) -> SourceResult:
    """Fetch and interpret one source. Never raises for the source's own problems.

    A JSON source with a `fallback_url` (a WordPress site's /feed/) is read from that feed when
    its API fails; the error of the API is kept in the result's note, not lost.

    `offload(fn, *args)`, when given, runs the CPU-bound interpretation of a feed (for example in a
    process pool); fn and args are picklable."""
    result = _collect_primary(source, url=url, validators=validators, policy=policy, session=session,
                              limiter=limiter, robots=robots, offload=offload)
    fallback = source.options.get("fallback_url")
    if result.error is None or source.kind != "json" or not fallback:
        return result
    feed_source = replace(source, kind="feed", url=fallback)
    backup = _collect_primary(feed_source, url=fallback, validators=None, policy=policy, session=session,
                              limiter=limiter, robots=robots, offload=offload)
    if backup.error is not None:  # both failed: report the API, name the fallback too
        result.error = f"{result.error}; fallback feed {fallback}: {backup.error}"
        result.extra_fetches.append(("fallback", backup.fetched))
        return result
    backup.source = source
    backup.extra_fetches.insert(0, ("primary", result.fetched))
    backup.bodies = result.bodies + backup.bodies
    return backup


def _collect_primary(source: Source, *, url: str | None, validators: Validators | None,
                     policy, session, limiter, robots, offload) -> SourceResult:
    from spacedigest.sources import retrieve

    policy = policy or retrieve.DEFAULT_POLICY
    url = url or source.url
    now = datetime.now(timezone.utc)

    if source.kind == "html" and robots is not None:
        allowed, reason = robots.allowed(url)
        if not allowed:
            fetched = Fetched(source.id, url, "error", now, error=reason)
            return SourceResult(source, fetched, error=reason)

    method, request_url, data, headers = "GET", url, None, None
    if source.kind == "json":
        from spacedigest.sources.jsonapi import request_for

        method, request_url, data, headers = request_for(replace(source, url=url))
    fetched = retrieve.fetch(source.id, request_url, validators, policy=policy, session=session,
                             limiter=limiter, method=method, data=data, headers=headers)
    result = SourceResult(source, fetched)
    if fetched.status != "ok":
        result.error = fetched.error if fetched.status == "error" else None
        return result

    body = fetched.body or b""
    result.bodies.append((fetched, body))
    try:
        if source.kind == "feed":  # one page, no detail step: all of it is CPU, maybe elsewhere
            args = (source, body, fetched.final_url or request_url, fetched.content_type, fetched.fetched_at)
            result.announcements = offload(interpret_page, *args) if offload else interpret_page(*args)
            fetched.body = None
            return result
        pages = [parse_body(source, body, url=fetched.final_url or request_url, content_type=fetched.content_type)]
        pages += _more_pages(source, fetched, body, result, policy=policy, session=session, limiter=limiter)
        details = _details(source, pages, result, policy=policy, session=session, limiter=limiter, robots=robots)
        result.announcements = interpret(source, pages, url=fetched.final_url or request_url,
                                         fetched_at=fetched.fetched_at, details=details)
    except SourceError as exc:
        result.error = str(exc)
    fetched.body = None  # the capture keeps it; do not carry megabytes through the flow
    return result


def _more_pages(source, fetched, body, result, **http) -> list[ParseResult]:
    """JSON APIs that paginate (WordPress): follow `next_page`, bounded by the source's max_pages."""
    if source.kind != "json":
        return []
    from spacedigest.sources import retrieve
    from spacedigest.sources.jsonapi import next_page

    pages, page, current, current_body = [], 1, fetched, body
    while True:
        page += 1
        next_url = next_page(current.final_url or current.url, current_body, current.headers, source, page)
        if not next_url:
            return pages
        from spacedigest.sources.jsonapi import request_for

        method, page_url, data, headers = request_for(replace(source, url=next_url))
        current = retrieve.fetch(source.id, page_url, None, method=method, data=data, headers=headers, **http)
        result.extra_fetches.append(("page", current))
        if current.status != "ok" or not current.body:
            return pages
        current_body = current.body
        result.bodies.append((current, current_body))
        pages.append(parse_body(source, current_body, url=next_url, content_type=current.content_type))
        current.body = None


def _details(source, pages, result, *, robots=None, **http) -> dict[str, Entry]:
    """Optional detail-page step for listing pages: bounded in count per run."""
    if source.kind != "html" or not source.options.get("detail"):
        return {}
    from spacedigest.sources import retrieve
    from spacedigest.sources.html import parse_detail

    limit = int(source.options.get("detail_limit", 10))
    links = [e.link for page in pages for e in page.entries if e.link][:limit]
    details = {}
    for link in links:
        if robots is not None and not robots.allowed(link)[0]:
            continue
        fetched = retrieve.fetch(source.id, link, None, **http)
        result.extra_fetches.append(("detail", fetched))
        if fetched.status == "ok" and fetched.body:
            result.bodies.append((fetched, fetched.body))
            try:
                details[link] = parse_detail(fetched.body, url=fetched.final_url or link, source=source)
            except SourceError:
                pass  # a detail page is an extra; the listing entry stands without it
        fetched.body = None
    return details
