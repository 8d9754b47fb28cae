"""Per-source HTTP headers (catalog `headers`, any kind): sent with every request of the source."""
from __future__ import annotations

import pytest

from spacedigest.sources.catalog import CatalogError, dump_catalog, sources_from_data
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import FetchPolicy, HttpRetriever

FAST = FetchPolicy(connect_timeout=1, read_timeout=2, deadline=4, backoff=0.05)

FEED = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>Appel a projets spatial 2024</title><link>https://example.org/a</link>
<pubDate>Mon, 13 May 2024 09:00:00 GMT</pubDate></item></channel></rss>"""


def entry(**extra) -> dict:
    return {"source": [{"id": "picky", "organisation": "X", "kind": "feed", "url": "https://example.org/feed",
                        **extra}]}


def test_headers_round_trip_through_the_catalog():
    [source] = sources_from_data(entry(headers={"Accept-Language": "ja", "User-Agent": "Mozilla/5.0 (compatible)"}))
    assert source.headers == (("Accept-Language", "ja"), ("User-Agent", "Mozilla/5.0 (compatible)"))
    import tomllib

    assert sources_from_data(tomllib.loads(dump_catalog([source]))) == [source]
    assert 'headers = { Accept-Language = "ja", User-Agent = "Mozilla/5.0 (compatible)" }' in dump_catalog([source])


@pytest.mark.parametrize("headers, message", [
    ("ja", "'headers' must be a table"),
    ({"Accept Language": "ja"}, "header name 'Accept Language' is not a valid HTTP header name"),
    ({"X-Evil": "a\r\nSet-Cookie: x"}, "header 'X-Evil' holds a control character"),
    ({"Accept-Encoding": "br"}, "header 'Accept-Encoding' is set by the retrieval itself"),
    ({"X-Count": 3}, "header 'X-Count' must be a string"),
])
def test_bad_headers_are_one_line_errors_naming_the_source(headers, message):
    with pytest.raises(CatalogError) as info:
        sources_from_data(entry(headers=headers))
    text = str(info.value)
    assert "source #1 'picky'" in text and message in text and "\n" not in text


def test_a_site_refusing_unknown_clients_is_read_with_the_sources_headers(http_server):
    """The server answers 403 unless the client looks like a browser and asks for Japanese."""
    def picky(responder):
        headers = responder.request.headers
        ok = headers.get("Accept-Language") == "ja" and headers.get("User-Agent", "").startswith("Mozilla/")
        status, body = (b"200 OK", FEED) if ok else (b"403 Forbidden", b"go away")
        responder.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/rss+xml\r\nContent-Length: "
                        + str(len(body)).encode() + b"\r\n\r\n" + body)

    http_server.add("/feed", handler=picky)
    data = entry(url=http_server.url("/feed"))
    plain = sources_from_data(data)[0]
    dressed = sources_from_data({"source": [{**data["source"][0], "headers": {
        "Accept-Language": "ja", "User-Agent": "Mozilla/5.0 (compatible; spacedigest)"}}]})[0]
    retriever = HttpRetriever(policy=FAST)
    try:
        refused = collect_source(plain, retriever=retriever)
        served = collect_source(dressed, retriever=retriever)
    finally:
        retriever.close()
    assert refused.error == "HTTP 403 Forbidden"
    assert served.error is None and [a.title for a in served.announcements] == ["Appel a projets spatial 2024"]
