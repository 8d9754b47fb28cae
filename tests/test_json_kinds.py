"""The JSON API kinds: WordPress REST posts (sources.wordpress) and the EU Funding & Tenders search API
(sources.eu_funding_tenders), through the kind protocol the pipeline uses."""
from __future__ import annotations

import email
import json
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from spacedigest.sources.catalog import CatalogError, load_catalog, sources_from_data
from spacedigest.sources.kinds import kind_of
from spacedigest.sources.models import Fetched, ParseError, Source
from spacedigest.sources.pipeline import interpret
from tests.conftest import FIXTURES

JSON = FIXTURES / "json"
CATALOG = {s.id: s for s in load_catalog()}
HARWELL = CATALOG["harwell-news"]
FT = CATALOG["eu-ft-space-calls"]
FETCHED_AT = datetime(2025, 1, 10, 9, 0, tzinfo=timezone.utc)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def parse_json(body: bytes, *, url: str, source: Source):
    return kind_of(source).parse(source, body, url=url, content_type="application/json")


def next_page(url: str, body: bytes, headers: dict, source: Source, number: int) -> str | None:
    """The URL of page `number` after a page read from `url` (the retriever lower-cases header names)."""
    last = Fetched(source.id, url, "ok", FETCHED_AT, body=body, headers={k.lower(): v for k, v in headers.items()})
    following = kind_of(source).next_request(source, last, number)
    return following.url if following else None


def request_for(source: Source) -> tuple:
    request = kind_of(source).request(source, source.url)
    return request.method, request.url, request.body, dict(request.headers)


# ----- WordPress -------------------------------------------------------------------------------------


def test_wordpress_posts_become_entries_with_the_feed_guid():
    result = parse_json((JSON / "wordpress_harwell_posts_page1.json").read_bytes(), url=HARWELL.url, source=HARWELL)
    first, second = result.entries
    assert first.title == "Harwell Space Cluster opens International Partnership Programme – applications"
    assert first.link == "https://www.harwellcampus.com/harwell-space-cluster-international-partnership-programme/"
    assert first.guid == "https://www.harwellcampus.com/?p=10598"  # what the site's /feed/ carries
    assert first.published == utc(2024, 3, 18, 9)  # date_gmt is UTC
    assert "soft-landing package" in first.summary
    assert second.published == utc(2024, 2, 22, 10, 30)
    assert result.feed_link == "https://www.harwellcampus.com/"


def test_wordpress_entries_normalize():
    from spacedigest.sources.normalize import normalize

    result = parse_json((JSON / "wordpress_harwell_posts_page1.json").read_bytes(), url=HARWELL.url, source=HARWELL)
    announcements = normalize(result, HARWELL, fetched_at=FETCHED_AT, base_url=HARWELL.url)
    assert [a.published_at for a in announcements] == [utc(2024, 3, 18, 9), utc(2024, 2, 22, 10, 30)]
    assert announcements[0].summary.startswith("Overseas space companies") and "<p>" not in announcements[0].summary
    assert all(a.organisation == "Harwell" and not a.published_estimated for a in announcements)


def test_wordpress_errors_are_one_line():
    with pytest.raises(ParseError, match="^WordPress API error: No route was found matching the URL and request method.$"):
        parse_json((JSON / "wordpress_error.json").read_bytes(), url=HARWELL.url, source=HARWELL)
    with pytest.raises(ParseError, match="^not JSON: got an HTML or XML page$"):
        parse_json(b"<!DOCTYPE html><html><body>Maintenance</body></html>", url=HARWELL.url, source=HARWELL)
    with pytest.raises(ParseError, match="^invalid JSON: ") as info:
        parse_json(b'[{"id": 1,', url=HARWELL.url, source=HARWELL)
    assert "\n" not in str(info.value)
    with pytest.raises(ParseError, match="^empty response"):
        parse_json(b"", url=HARWELL.url, source=HARWELL)


def test_wordpress_pagination_follows_total_pages_within_max_pages():
    url = HARWELL.url
    body = (JSON / "wordpress_harwell_posts_page1.json").read_bytes()
    second = next_page(url, body, {"X-WP-Total": "120", "X-WP-TotalPages": "3"}, HARWELL, 2)
    assert second == url + "&page=2"
    assert "_fields=id%2Cdate_gmt" not in second  # the query is kept as written
    # The catalog caps Harwell at 2 pages; the API has 3.
    assert next_page(second, body, {"x-wp-totalpages": "3"}, HARWELL, 3) is None
    roomy = replace(HARWELL, options=replace(HARWELL.options, max_pages=5))
    assert next_page(second, body, {"x-wp-totalpages": "3"}, roomy, 3) == url + "&page=3"
    assert next_page(url, body, {"x-wp-totalpages": "1"}, roomy, 2) is None
    assert next_page(url, body, {}, roomy, 2) is None
    assert next_page(url, body, {"X-WP-TotalPages": "junk"}, roomy, 2) is None


def test_json_source_requests():
    assert request_for(HARWELL) == ("GET", HARWELL.url, None, {"Accept": "application/json"})
    with pytest.raises(CatalogError, match="needs an 'api' option"):
        sources_from_data({"source": [{"id": "x", "organisation": "X", "kind": "json", "url": "https://x.example/api"}]})


# ----- EU Funding & Tenders search API ---------------------------------------------------------------


def ft_result():
    return parse_json((JSON / "ft_search_space_calls.json").read_bytes(), url=FT.url, source=FT)


def test_ft_calls_carry_deadline_opening_status_and_portal_link():
    result = ft_result()
    assert len(result.entries) == 2  # the French copy of the first call is left out
    open_call, forthcoming = result.entries
    assert open_call.title == "Space technologies for European non-dependence and competitiveness"
    assert open_call.guid == "HORIZON-CL4-2025-SPACE-01-11"
    assert open_call.link == ("https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
                              "topic-details/horizon-cl4-2025-space-01-11")
    assert open_call.stated.deadline == date(2025, 2, 19)
    assert open_call.stated.opening_date == date(2024, 11, 5)
    assert open_call.published == utc(2024, 11, 5)  # startDate 01:00+01:00
    assert "Status: open." in open_call.detail_text and "Deadline: 2025-02-19." in open_call.detail_text

    # Two-stage call: the earliest deadline is the one that matters first; announced when indexed.
    assert forthcoming.stated.deadline == date(2025, 6, 10)
    assert "Deadline: 2025-06-10, 2025-09-23." in forthcoming.detail_text
    assert forthcoming.stated.opening_date == date(2025, 5, 1)
    assert forthcoming.published == utc(2024, 12, 10, 8, 12)
    assert "Status: forthcoming." in forthcoming.detail_text


def test_ft_calls_normalize_with_deadlines():
    announcements = interpret(FT, [ft_result()], url=FT.url, fetched_at=FETCHED_AT)
    assert [a.deadline for a in announcements] == [date(2025, 2, 19), date(2025, 6, 10)]
    assert [a.opening_date for a in announcements] == [date(2024, 11, 5), date(2025, 5, 1)]
    assert all(a.organisation == "European Commission" and a.url.startswith("https://ec.europa.eu/") for a in announcements)


def test_ft_request_is_the_portal_multipart_post():
    method, url, body, headers = request_for(FT)
    assert method == "POST" and url == FT.url
    assert url.startswith("https://api.tech.ec.europa.eu/search-api/prod/rest/search?apiKey=SEDIA&text=")
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request_for(FT) == (method, url, body, headers)  # byte-identical from run to run

    message = email.message_from_bytes(b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body)
    parts = {part.get_param("name", header="content-disposition"): part for part in message.get_payload()}
    assert set(parts) == {"query", "languages", "sort"}
    assert all(part.get_content_type() == "application/json" for part in parts.values())
    query = json.loads(parts["query"].get_payload())
    assert {"terms": {"type": ["1", "2"]}} in query["bool"]["must"]
    assert {"terms": {"status": ["31094501", "31094502"]}} in query["bool"]["must"]
    assert json.loads(parts["languages"].get_payload()) == ["en"]

    programme = replace(FT, options=replace(FT.options, ft_programmes=("43108390",), ft_keywords=("space",)))
    query = json.loads(email.message_from_bytes(
        b"Content-Type: " + request_for(programme)[3]["Content-Type"].encode() + b"\r\n\r\n" + request_for(programme)[2]
    ).get_payload()[0].get_payload())
    assert {"terms": {"frameworkProgramme": ["43108390"]}} in query["bool"]["must"]


def test_ft_pagination_uses_page_number_and_total_results():
    body = json.dumps({"totalResults": 120, "pageSize": 50, "results": [{}]}).encode()
    assert next_page(FT.url, body, {}, FT, 2) == FT.url.replace("pageNumber=1", "pageNumber=2")
    page2 = FT.url.replace("pageNumber=1", "pageNumber=2")
    assert next_page(page2, body, {}, FT, 3) == FT.url.replace("pageNumber=1", "pageNumber=3")
    assert next_page(page2, body, {}, FT, 4) is None  # max_pages = 3
    small = json.dumps({"totalResults": 40, "pageSize": 50, "results": [{}]}).encode()
    assert next_page(FT.url, small, {}, FT, 2) is None
    assert next_page(FT.url, b'{"totalResults": 500, "results": []}', {}, FT, 2) is None
    assert next_page(FT.url, b"not json", {}, FT, 2) is None


def test_ft_unexpected_shape_is_a_clear_error():
    with pytest.raises(ParseError, match="^not a Funding & Tenders search response: no 'results' list$"):
        parse_json(b'{"message": "Forbidden"}', url=FT.url, source=FT)
