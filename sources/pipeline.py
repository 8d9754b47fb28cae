"""One source, end to end up to the warehouse: retrieve -> parse -> normalize -> classify.

Kind-agnostic: everything a kind does differently is asked of its adapter (sources.kinds), and
the bytes come from a `Retriever` — the live web (sources.retrieve.HttpRetriever) for `collect`
and `sources check`, the stored captures (warehouse.captures.CaptureRetriever) for `reprocess` —
so the three share this one path, fallbacks and item pages included.

`interpret` is pure (parsed pages in, announcements out); `collect_source` adds the requests.
Neither raises for a problem with the source: the result carries a one-line error instead.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

from spacedigest.sources.kinds import Retriever, SourceKind, kind_of
from spacedigest.sources.models import (
    Announcement, Attempt, Entry, Fetched, ParseResult, Request, Source, SourceError, SourceResult, Stated,
    Validators,
)


def interpret(source: Source, pages: list[ParseResult], *, url: str, fetched_at: datetime,
              details: dict[str, Entry] | None = None) -> list[Announcement]:
    """Parsed pages (and item pages by link) -> classified announcements. Pure."""
    from spacedigest.sources.classify import enrich
    from spacedigest.sources.normalize import normalize

    entries = [entry for page in pages for entry in page.entries]
    if details:
        entries = [with_detail(e, details[e.link]) if e.link in details else e for e in entries]
    merged = ParseResult(
        entries=tuple(entries),
        feed_title=next((p.feed_title for p in pages if p.feed_title), None),
        feed_link=next((p.feed_link for p in pages if p.feed_link), None),
    )
    return [enrich(a, fetched_at=fetched_at, zone=source.timezone)
            for a in normalize(merged, source, fetched_at=fetched_at, base_url=url)]


def with_detail(entry: Entry, detail: Entry) -> Entry:
    """A listing entry completed by its item page; what the listing said stays unless it was missing."""
    summary = entry.summary
    if detail.summary and (not summary or len(detail.summary) > len(summary)):
        summary = detail.summary
    texts = [t for t in (entry.detail_text, detail.detail_text) if t]
    listed, page = entry.stated, detail.stated
    return replace(
        entry,
        title=entry.title or detail.title,  # a sitemap lists pages without titles
        summary=summary,
        published=entry.published or detail.published,
        updated=entry.updated or detail.updated,
        detail_text="\n".join(texts) or None,
        stated=Stated(**{name: getattr(listed, name) or getattr(page, name) for name in Stated.__dataclass_fields__}),
    )


def collect_source(source: Source, *, retriever: Retriever, url: str | None = None,
                   validators: Validators | None = None,
                   offload: Callable | None = None) -> SourceResult:
    """Fetch and interpret one source. Never raises for the source's own problems.

    When the source fails and its kind knows another way to read the same items (a WordPress
    site's /feed/, a redesigned page's announced feed or its list read again), that way serves
    them: the result says how (`served_by`, also on each announcement) and keeps why the source's
    own way failed (`primary_error`). The first failure stays in the error if both fail.

    `offload(fn, *args)`, when given, runs the CPU-bound parsing and interpretation (for example in
    a process pool); fn and args are picklable."""
    kind = kind_of(source)
    result = _collect(kind, source, url or source.url, validators, retriever, offload)
    if result.error is None:
        return result
    look = _Looking(retriever, source)
    try:
        fallback = kind.fallback(source, result.fetched, look)
    except SourceError:
        fallback = None
    looked = tuple(look.attempts)
    if fallback is None:
        return replace(result, others=(*result.others, *looked)) if looked else result
    alternative = fallback.source
    backup = _collect(kind_of(alternative), alternative, alternative.url, None, retriever, offload)
    if backup.error is not None:  # both failed: report the source, name the fallback too
        return replace(result, error=f"{result.error}; fallback {fallback.how}: {backup.error}",
                       others=(*result.others, *looked, replace(backup.listing, role="fallback"), *backup.others))
    served_by = f"fallback: {fallback.how}"
    return replace(backup, source=source,
                   announcements=tuple(replace(a, served_by=served_by) for a in backup.announcements),
                   others=(replace(result.listing, role="primary"), *result.others, *looked, *backup.others),
                   served_by=served_by, primary_error=result.error)


class _Looking:
    """The retriever a kind's fallback looks around with: every request carries the source's
    headers and is kept as a "discover" attempt (logged, and captured so `reprocess` replays it)."""

    def __init__(self, retriever: Retriever, source: Source):
        self.retriever, self.source = retriever, source
        self.attempts: list[Attempt] = []

    def fetch(self, source_id: str, request: Request, validators: Validators | None = None) -> Fetched:
        fetched = self.retriever.fetch(self.source.id, with_headers(request, self.source), validators)
        self.attempts.append(Attempt("discover", fetched))
        return fetched

    def allowed(self, url: str) -> tuple[bool, str | None]:
        return self.retriever.allowed(url)


def _collect(kind: SourceKind, source: Source, url: str, validators: Validators | None, retriever: Retriever,
             offload: Callable | None) -> SourceResult:
    request = kind.request(source, url)
    if kind.obeys_robots:
        allowed, reason = retriever.allowed(request.url)
        if not allowed:
            fetched = Fetched(source.id, request.url, "error", datetime.now(timezone.utc), error=reason)
            return SourceResult(source, Attempt("listing", fetched), error=reason)
    fetched = retriever.fetch(source.id, with_headers(request, source), validators)
    listing = Attempt("listing", fetched)
    if fetched.status != "ok":
        return SourceResult(source, listing, error=fetched.error if fetched.status == "error" else None)
    others: list[Attempt] = []
    page = None
    if offload and kind.next_request(source, fetched, 2) is None:
        # One page (the common case): parse it where the CPU is, with the interpretation, so only
        # bytes go there and announcements come back. Item pages, when wanted, are fetched here.
        try:
            announcements, page = offload(_read_page, kind, source, fetched.body or b"", fetched.where,
                                          fetched.content_type, fetched.fetched_at)
        except SourceError as exc:
            return SourceResult(source, listing, error=str(exc))
        if page is None:
            return SourceResult(source, listing, tuple(announcements))
    try:
        pages = [page if page is not None else
                 kind.parse(source, fetched.body or b"", url=fetched.where, content_type=fetched.content_type)]
        last, number = fetched, 1
        while (following := kind.next_request(source, last, number + 1)) is not None:
            number += 1
            last = retriever.fetch(source.id, with_headers(following, source))
            others.append(Attempt("page", last))
            if last.status != "ok" or not last.body:
                break
            pages.append(kind.parse(source, last.body, url=following.url, content_type=last.content_type))
        details = _details(kind, source, pages, retriever, others)
        args = (source, pages)
        kwargs = {"url": fetched.where, "fetched_at": fetched.fetched_at, "details": details}
        announcements = offload(_interpret, *args, kwargs) if offload else _interpret(*args, kwargs)
    except SourceError as exc:
        return SourceResult(source, listing, error=str(exc), others=tuple(others))
    return SourceResult(source, listing, tuple(announcements), others=tuple(others))


def with_headers(request: Request, source: Source) -> Request:
    """The request with the source's own headers (catalog `headers`), which win over the kind's."""
    if not source.headers:
        return request
    names = {name.lower() for name, _ in source.headers}
    kept = tuple((n, v) for n, v in request.headers if n.lower() not in names)
    return replace(request, headers=kept + source.headers)


def _interpret(source: Source, pages: list[ParseResult], kwargs: dict) -> list[Announcement]:
    return interpret(source, pages, **kwargs)  # one positional signature, for process pools


def _read_page(kind: SourceKind, source: Source, body: bytes, url: str, content_type: str | None,
               fetched_at: datetime) -> tuple[list[Announcement] | None, ParseResult | None]:
    """A one-page listing, parsed and interpreted: (announcements, None); or (None, the parsed page)
    when the kind wants item pages first."""
    page = kind.parse(source, body, url=url, content_type=content_type)
    if kind.detail_targets(source, [page]):
        return None, page
    return interpret(source, [page], url=url, fetched_at=fetched_at), None


def _details(kind: SourceKind, source: Source, pages: list[ParseResult], retriever: Retriever,
             others: list[Attempt]) -> dict[str, Entry]:
    """Item pages, when the kind asks for them: an item page is an extra, the listing entry stands
    without it (refused by robots.txt, failed, or unreadable)."""
    details: dict[str, Entry] = {}
    for link in kind.detail_targets(source, pages):
        if kind.obeys_robots and not retriever.allowed(link)[0]:
            continue
        fetched = retriever.fetch(source.id, with_headers(Request(link), source))
        others.append(Attempt("detail", fetched))
        if fetched.status == "ok" and fetched.body:
            try:
                details[link] = kind.parse_detail(source, fetched.body, url=fetched.where,
                                                  content_type=fetched.content_type)
            except SourceError:
                pass
    return details
