"""JSON APIs -> entries: WordPress REST posts and the EU Funding & Tenders search API.

The flavour comes from the source option `api` ("wordpress" | "ft-search"); without it the URL
decides (`/wp-json/` is WordPress, `search-api` is Funding & Tenders).

WordPress: `GET /wp-json/wp/v2/posts?_fields=id,date_gmt,link,title,excerpt&per_page=50`, paginated
with `page=N` up to the `X-WP-TotalPages` header. The guid is WordPress's own `<origin>/?p=<id>`,
the same guid the site's `/feed/` carries, so the JSON source and its feed fallback are one item.

Funding & Tenders (SEDIA search API): `POST https://api.tech.ec.europa.eu/search-api/prod/rest/search
?apiKey=SEDIA&text=...&pageSize=50&pageNumber=1` with a multipart form whose `query` part is an
Elasticsearch-style bool query (type 1/2 = calls for proposals / grants, status 31094501 forthcoming,
31094502 open). Each result carries `metadata` arrays (title, identifier, callIdentifier, startDate,
deadlineDate, status, ...); the deadline and opening dates go to Entry.deadline / opening_date.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from urllib3 import encode_multipart_formdata

from spacedigest.sources import dates
from spacedigest.sources.html import absolute_link
from spacedigest.sources.models import Entry, ParseError, ParseResult, Source

DEFAULT_MAX_PAGES = 3
FT_PORTAL_TOPIC = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
FT_PORTAL_TENDER = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/tender-details/"
FT_STATUS = {"31094501": "forthcoming", "31094502": "open", "31094503": "closed"}
FT_DEFAULT_TYPES = ["1", "2"]  # calls for proposals (topics) and grants
FT_DEFAULT_STATUS = ["31094501", "31094502"]  # forthcoming, open


def api_flavour(source: Source, url: str | None = None) -> str:
    flavour = (source.options or {}).get("api")
    if flavour:
        flavour = str(flavour).lower()
        if flavour in ("wordpress", "wp"):
            return "wordpress"
        if flavour in ("ft-search", "sedia", "eu-ft", "funding-tenders"):
            return "ft-search"
        raise ParseError(f"unknown api '{flavour}' (expected 'wordpress' or 'ft-search')")
    target = url or source.url
    if "/wp-json/" in target or "rest_route=" in target:
        return "wordpress"
    if "search-api" in target and "europa.eu" in target:
        return "ft-search"
    raise ParseError("json source needs an 'api' option ('wordpress' or 'ft-search')")


def _load(body: bytes, url: str) -> Any:
    if not body or not body.strip():
        raise ParseError(f"empty response from {url}")
    head = body.lstrip()[:1]
    if head == b"<":
        raise ParseError("not JSON: got an HTML or XML page")
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"invalid JSON: {str(exc).splitlines()[0]}") from None


def parse_json(body: bytes, *, url: str, source: Source) -> ParseResult:
    data = _load(body, url)
    if api_flavour(source, url) == "wordpress":
        return _parse_wordpress(data, url)
    return _parse_ft_search(data, url, source)


# ----- WordPress ------------------------------------------------------------------------------------


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


def _parse_wordpress(data: Any, url: str) -> ParseResult:
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
                extra={"wp_id": post_id} if post_id is not None else {},
            )
        )
    return ParseResult(entries=entries, feed_link=origin + "/", warnings=warnings)


# ----- EU Funding & Tenders search API -------------------------------------------------------------


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


def _ft_link(result: dict, metadata: dict, identifier: str | None, kind: str | None) -> str | None:
    page = _first(metadata, "url")
    if page and page.startswith("http") and not page.endswith(".json"):
        return page
    if identifier:
        portal = FT_PORTAL_TENDER if kind == "0" else FT_PORTAL_TOPIC
        return portal + (identifier.lower() if kind != "0" else identifier)
    url = result.get("url")
    return url if isinstance(url, str) and url.startswith("http") else None


def _parse_ft_search(data: Any, url: str, source: Source) -> ParseResult:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ParseError("not a Funding & Tenders search response: no 'results' list")
    wanted_language = (source.language or "en").split("-")[0]
    entries: list[Entry] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for result in data["results"]:
        if not isinstance(result, dict):
            continue
        metadata = result.get("metadata") if isinstance(result.get("metadata"), dict) else {}
        language = result.get("language")
        if isinstance(language, str) and language and language != wanted_language:
            continue  # the same call in another language
        identifier = _first(metadata, "identifier") or _first(metadata, "callIdentifier")
        kind = _first(metadata, "type")
        key = identifier or str(result.get("reference") or "")
        if key and key in seen:
            continue
        seen.add(key)
        title = _first(metadata, "title") or result.get("title") or result.get("content")
        status_code = _first(metadata, "status")
        status = FT_STATUS.get(status_code or "", "unknown")
        deadlines = sorted(d for d in (_written_date(v) for v in metadata.get("deadlineDate") or []) if d)
        opening = _written_date(_first(metadata, "startDate"))
        # A forthcoming call was announced when it was indexed, not when it opens.
        announced = _first(metadata, "esDA_IngestDate") if status == "forthcoming" else None
        stamp = announced or _first(metadata, "startDate") or _first(metadata, "es_SortDate")
        published = dates.parse_datetime(stamp) if stamp else None
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
                link=_ft_link(result, metadata, identifier, kind),
                guid=identifier or (str(result["reference"]) if result.get("reference") else None),
                summary=summary if isinstance(summary, str) else None,
                published=published,
                detail_text=" ".join(facts),
                opening_date=opening,
                deadline=deadlines[0] if deadlines else None,
                extra={
                    "status": status,
                    "call_identifier": call,
                    "deadlines": [d.isoformat() for d in deadlines],
                    "programme": _first(metadata, "frameworkProgramme"),
                    "type": kind,
                },
            )
        )
    if not entries and data["results"]:
        warnings.append(f"{len(data['results'])} result(s), none in language '{wanted_language}'")
    return ParseResult(entries=entries, feed_title="EU Funding & Tenders", warnings=warnings)


# ----- requests and pagination ---------------------------------------------------------------------


def _ft_query(source: Source) -> dict:
    options = source.options or {}
    must: list[dict] = [
        {"terms": {"type": [str(t) for t in options.get("ft_types", FT_DEFAULT_TYPES)]}},
        {"terms": {"status": [str(s) for s in options.get("ft_status", FT_DEFAULT_STATUS)]}},
    ]
    programmes = options.get("ft_programmes")
    if programmes:
        must.append({"terms": {"frameworkProgramme": [str(p) for p in programmes]}})
    keywords = options.get("ft_keywords")
    if keywords:
        must.append({"terms": {"keywords": [str(k) for k in keywords]}})
    return {"bool": {"must": must}}


def request_for(source: Source) -> tuple[str, str, bytes | None, dict]:
    """(method, url, body, headers) for the first page of a json source."""
    if source.kind == "json" and api_flavour(source) == "ft-search":
        return ft_request(source, source.url)
    return "GET", source.url, None, {"Accept": "application/json"}


def ft_request(source: Source, url: str) -> tuple[str, str, bytes, dict]:
    """The POST the Funding & Tenders portal itself sends: query, languages and sort as JSON form parts."""
    fields = {
        "query": (None, json.dumps(_ft_query(source)), "application/json"),
        "languages": (None, json.dumps([(source.language or "en").split("-")[0]]), "application/json"),
        "sort": (None, json.dumps({"field": "sortStatus", "order": "ASC"}), "application/json"),
    }
    # A boundary derived from the source keeps the request byte-identical from run to run.
    boundary = "spacedigest" + hashlib.sha1(source.id.encode()).hexdigest()[:16]
    body, content_type = encode_multipart_formdata(fields, boundary=boundary)
    return "POST", url, body, {"Content-Type": content_type, "Accept": "application/json"}


def _with_param(url: str, name: str, value: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query, safe="*,")))


def next_page(url: str, body: bytes, headers: dict, source: Source, page: int) -> str | None:
    """URL of page number `page` (2 for the one after the first), or None when there is no such page.

    `url`, `body` and `headers` are those of the page just read (page `page - 1`). Bounded by the
    source option `max_pages` (default 3), so a misbehaving API cannot keep a run busy.
    """
    max_pages = int((source.options or {}).get("max_pages", DEFAULT_MAX_PAGES))
    if page < 2 or page > max_pages:
        return None
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    if api_flavour(source, url) == "wordpress":
        try:
            total = int(str(lowered.get("x-wp-totalpages", "1")).strip())
        except ValueError:
            return None
        return _with_param(url, "page", page) if page <= total else None
    try:
        data = json.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not data.get("results"):
        return None
    size = data.get("pageSize") or dict(parse_qsl(urlsplit(url).query)).get("pageSize") or 50
    try:
        total, size = int(data.get("totalResults")), int(size)
    except (TypeError, ValueError):
        return None
    return _with_param(url, "pageNumber", page) if (page - 1) * size < total else None
