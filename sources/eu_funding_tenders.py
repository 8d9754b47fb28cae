"""The EU Funding & Tenders search API -> entries (kind "eu-funding-tenders"; in a catalog also
`kind = "json"`, `api = "ft-search"`).

`POST https://api.tech.ec.europa.eu/search-api/prod/rest/search?apiKey=SEDIA&text=...&pageSize=50&pageNumber=1`
with a multipart form whose `query` part is an Elasticsearch-style bool query (type 1/2 = calls for
proposals / grants, status 31094501 forthcoming, 31094502 open). Each result carries `metadata`
arrays (title, identifier, callIdentifier, startDate, deadlineDate, status, ...); the deadline and
opening dates are stated (`Entry.stated`), the facts also go into the entry's text.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from urllib3 import encode_multipart_formdata

from spacedigest.sources import dates
from spacedigest.sources.jsondoc import load_json, with_param
from spacedigest.sources.kinds import BaseKind
from spacedigest.sources.models import Entry, Fetched, ParseError, ParseResult, Request, Source, Stated

DEFAULT_MAX_PAGES = 3
FT_PORTAL_TOPIC = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
FT_PORTAL_TENDER = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/tender-details/"
FT_STATUS = {"31094501": "forthcoming", "31094502": "open", "31094503": "closed"}
FT_DEFAULT_TYPES = ("1", "2")  # calls for proposals (topics) and grants
FT_DEFAULT_STATUS = ("31094501", "31094502")  # forthcoming, open


@dataclass(frozen=True)
class FundingTendersOptions:
    ft_types: tuple[str, ...] = FT_DEFAULT_TYPES
    ft_status: tuple[str, ...] = FT_DEFAULT_STATUS
    ft_programmes: tuple[str, ...] = ()  # frameworkProgramme ids
    ft_keywords: tuple[str, ...] = ()
    max_pages: int = DEFAULT_MAX_PAGES


def _first(metadata: dict, key: str) -> str | None:
    value = metadata.get(key)
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    if value is None or value == "":
        return None
    return str(value).strip()


def _written_date(text: str | None) -> date | None:
    """The calendar date as the EC wrote it ('2024-04-18T17:00:00.000+0200' -> 2024-04-18, Brussels)."""
    if not text:
        return None
    return dates.parse_date(text[:10]) if len(text) >= 10 else None


def _link(result: dict, metadata: dict, identifier: str | None, kind: str | None) -> str | None:
    page = _first(metadata, "url")
    if page and page.startswith("http") and not page.endswith(".json"):
        return page
    if identifier:
        portal = FT_PORTAL_TENDER if kind == "0" else FT_PORTAL_TOPIC
        return portal + (identifier.lower() if kind != "0" else identifier)
    url = result.get("url")
    return url if isinstance(url, str) and url.startswith("http") else None


def parse_search(body: bytes, *, url: str, language: str = "en") -> ParseResult:
    data = load_json(body, url)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ParseError("not a Funding & Tenders search response: no 'results' list")
    wanted_language = (language or "en").split("-")[0]
    entries: list[Entry] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for result in data["results"]:
        if not isinstance(result, dict):
            continue
        metadata = result.get("metadata") if isinstance(result.get("metadata"), dict) else {}
        result_language = result.get("language")
        if isinstance(result_language, str) and result_language and result_language != wanted_language:
            continue  # the same call in another language
        identifier = _first(metadata, "identifier") or _first(metadata, "callIdentifier")
        kind = _first(metadata, "type")
        key = identifier or str(result.get("reference") or "")
        if key and key in seen:
            continue
        seen.add(key)
        title = _first(metadata, "title") or result.get("title") or result.get("content")
        status = FT_STATUS.get(_first(metadata, "status") or "", "unknown")
        deadlines = sorted(d for d in (_written_date(v) for v in metadata.get("deadlineDate") or []) if d)
        opening = _written_date(_first(metadata, "startDate"))
        # A forthcoming call was announced when it was indexed, not when it opens.
        announced = _first(metadata, "esDA_IngestDate") if status == "forthcoming" else None
        stamp = announced or _first(metadata, "startDate") or _first(metadata, "es_SortDate")
        summary = _first(metadata, "descriptionByte") or result.get("summary") or result.get("content")
        call = _first(metadata, "callIdentifier")
        facts = [f"Status: {status}."]
        if identifier:
            facts.append(f"Identifier: {identifier}.")
        if call and call != identifier:
            facts.append(f"Call: {call}.")
        if opening:
            facts.append(f"Opening date: {opening.isoformat()}.")
        if deadlines:
            facts.append("Deadline: " + ", ".join(d.isoformat() for d in deadlines) + ".")
        entries.append(
            Entry(
                title=" ".join(str(title).split()) if title else None,
                link=_link(result, metadata, identifier, kind),
                guid=identifier or (str(result["reference"]) if result.get("reference") else None),
                summary=summary if isinstance(summary, str) else None,
                published=dates.parse_datetime(stamp) if stamp else None,
                detail_text=" ".join(facts),
                stated=Stated(deadline=deadlines[0] if deadlines else None, opening_date=opening),
            )
        )
    if not entries and data["results"]:
        warnings.append(f"{len(data['results'])} result(s), none in language '{wanted_language}'")
    return ParseResult(entries=tuple(entries), feed_title="EU Funding & Tenders", warnings=tuple(warnings))


def _query(options: FundingTendersOptions) -> dict:
    must: list[dict] = [
        {"terms": {"type": list(options.ft_types)}},
        {"terms": {"status": list(options.ft_status)}},
    ]
    if options.ft_programmes:
        must.append({"terms": {"frameworkProgramme": list(options.ft_programmes)}})
    if options.ft_keywords:
        must.append({"terms": {"keywords": list(options.ft_keywords)}})
    return {"bool": {"must": must}}


def search_request(source: Source, url: str) -> Request:
    """The POST the Funding & Tenders portal itself sends: query, languages and sort as JSON form parts."""
    fields = {
        "query": (None, json.dumps(_query(source.options)), "application/json"),
        "languages": (None, json.dumps([(source.language or "en").split("-")[0]]), "application/json"),
        "sort": (None, json.dumps({"field": "sortStatus", "order": "ASC"}), "application/json"),
    }
    # A boundary derived from the source keeps the request byte-identical from run to run.
    boundary = "spacedigest" + hashlib.sha1(source.id.encode()).hexdigest()[:16]
    body, content_type = encode_multipart_formdata(fields, boundary=boundary)
    return Request(url, method="POST", body=body,
                   headers=(("Content-Type", content_type), ("Accept", "application/json")))


def next_page_url(last: Fetched, source: Source, number: int) -> str | None:
    """Page `number` (2, 3, ...) while `totalResults` says there is one, at most `max_pages`."""
    if number < 2 or number > source.options.max_pages:
        return None
    try:
        data: Any = json.loads(last.body or b"")
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not data.get("results"):
        return None
    size = data.get("pageSize") or dict(parse_qsl(urlsplit(last.where).query)).get("pageSize") or 50
    try:
        total, size = int(data.get("totalResults")), int(size)
    except (TypeError, ValueError):
        return None
    return with_param(last.where, "pageNumber", number) if (number - 1) * size < total else None


class FundingTendersKind(BaseKind):
    name = "eu-funding-tenders"
    options = FundingTendersOptions

    def request(self, source: Source, url: str) -> Request:
        return search_request(source, url)

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        return parse_search(body, url=url, language=source.language)

    def next_request(self, source: Source, last: Fetched, number: int) -> Request | None:
        url = next_page_url(last, source, number)
        return search_request(source, url) if url else None


KIND = FundingTendersKind()
