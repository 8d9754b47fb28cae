"""A source kind written the way a new one is added: one module with a `KIND`, plus one line in
`sources.kinds.REGISTRY` (tests/test_kinds.py adds that line for the test). JSON Feed 1.1
(https://www.jsonfeed.org/version/1.1/), which some sites publish instead of RSS."""
from __future__ import annotations

from dataclasses import dataclass

from spacedigest.sources import dates
from spacedigest.sources.jsondoc import load_json
from spacedigest.sources.kinds import BaseKind
from spacedigest.sources.models import Entry, ParseError, ParseResult, Source


@dataclass(frozen=True)
class JsonFeedOptions:
    max_items: int = 100


class JsonFeedKind(BaseKind):
    name = "jsonfeed"
    options = JsonFeedOptions

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        data = load_json(body, url)
        if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/"):
            raise ParseError("not a JSON Feed: no jsonfeed.org version")
        entries = tuple(
            Entry(title=item.get("title"), link=item.get("url"), guid=str(item.get("id")) if item.get("id") else None,
                  summary=item.get("summary") or item.get("content_text") or item.get("content_html"),
                  published=dates.parse_datetime(item.get("date_published")))
            for item in data.get("items", [])[: source.options.max_items] if isinstance(item, dict)
        )
        return ParseResult(entries=entries, feed_title=data.get("title"), feed_link=data.get("home_page_url"))


KIND = JsonFeedKind()
