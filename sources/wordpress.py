"""WordPress REST posts -> entries (kind "wordpress"; in a catalog also `kind = "json"`, `api = "wordpress"`).

`GET /wp-json/wp/v2/posts?_fields=id,date_gmt,link,title,excerpt&per_page=50`, paginated with
`page=N` up to the `X-WP-TotalPages` header (at most `max_pages`). The guid is WordPress's own
`<origin>/?p=<id>`, the same guid the site's `/feed/` carries, so the API source and its
`fallback_url` feed are one item.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from spacedigest.sources import dates
from spacedigest.sources.html import absolute_link
from spacedigest.sources.jsondoc import ACCEPT_JSON, load_json, with_param
from spacedigest.sources.kinds import BaseKind
from spacedigest.sources.models import Entry, Fallback, Fetched, ParseError, ParseResult, Request, Source

DEFAULT_MAX_PAGES = 3


@dataclass(frozen=True)
class WordPressOptions:
    max_pages: int = DEFAULT_MAX_PAGES  # a misbehaving API cannot keep a run busy
    fallback_url: str | None = None  # the site's /feed/, read when the API fails


def _rendered(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def _text(html_fragment: str) -> str:
    """Titles come HTML-escaped ("&#8211;") and sometimes with tags; keep plain text."""
    if "<" in html_fragment:
        from bs4 import BeautifulSoup

        html_fragment = BeautifulSoup(html_fragment, "lxml").get_text(" ")
    return " ".join(unescape(html_fragment).split())


def parse_posts(body: bytes, *, url: str) -> ParseResult:
    data = load_json(body, url)
    if isinstance(data, dict):
        reason = data.get("message") or data.get("code") or "an object instead of a list of posts"
        raise ParseError(f"WordPress API error: {' '.join(str(reason).split())}")
    if not isinstance(data, list):
        raise ParseError("WordPress API: expected a list of posts")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    entries: list[Entry] = []
    warnings: list[str] = []
    for post in data:
        if not isinstance(post, dict):
            warnings.append("skipped a post that is not an object")
            continue
        post_id = post.get("id")
        stamp = post.get("date_gmt") or post.get("date")
        published = None
        if isinstance(stamp, str) and stamp:
            # date_gmt has no offset but is UTC; plain `date` is site-local (kept as given, UTC assumed).
            published = dates.parse_datetime(stamp if stamp.endswith("Z") else stamp + "Z")
        modified = post.get("modified_gmt")
        updated = dates.parse_datetime(modified + "Z") if isinstance(modified, str) and modified else None
        entries.append(
            Entry(
                title=_text(_rendered(post.get("title"))) or None,
                link=absolute_link(url, post.get("link") if isinstance(post.get("link"), str) else None),
                guid=f"{origin}/?p={post_id}" if isinstance(post_id, int) else None,
                summary=_rendered(post.get("excerpt")) or None,
                published=published,
                updated=updated,
            )
        )
    return ParseResult(entries=tuple(entries), feed_link=origin + "/", warnings=tuple(warnings))


def next_page_url(last: Fetched, source: Source, number: int) -> str | None:
    """Page `number` (2, 3, ...) while X-WP-TotalPages says there is one, at most `max_pages`."""
    if number < 2 or number > source.options.max_pages:
        return None
    try:
        total = int(str(last.headers.get("x-wp-totalpages", "1")).strip())
    except ValueError:
        return None
    return with_param(last.where, "page", number) if number <= total else None


class WordPressKind(BaseKind):
    name = "wordpress"
    options = WordPressOptions

    def request(self, source: Source, url: str) -> Request:
        return Request(url, headers=ACCEPT_JSON)

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        return parse_posts(body, url=url)

    def next_request(self, source: Source, last: Fetched, number: int) -> Request | None:
        url = next_page_url(last, source, number)
        return Request(url, headers=ACCEPT_JSON) if url else None

    def fallback(self, source: Source, failed: Fetched, look) -> Fallback | None:
        url = source.options.fallback_url
        if not url:
            return None
        from spacedigest.sources.feed import KIND as FEED

        return Fallback(replace(source, kind=FEED.name, url=url, options=FEED.options()), f"feed {url}")


KIND = WordPressKind()
