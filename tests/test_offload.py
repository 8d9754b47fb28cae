"""Parsing and interpretation in the parse pool (a real process pool) give exactly what the
fetching thread gives: for a feed, for a page with item pages, and for a body that fails to parse.
The pool gets bytes and returns announcements (or, when item pages are wanted, the parsed page)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from spacedigest.sources import retrieve, runtime
from spacedigest.sources.html import HtmlOptions
from spacedigest.sources.models import Source
from spacedigest.sources.pipeline import collect_source
from tests.test_e2e import fresh_feed

LISTING = """<html><body><ul>
<li><a href="/calls/1">Call for proposals: lunar logistics</a> <time datetime="2025-01-06">6 Jan 2025</time></li>
<li><a href="/calls/2">Invitation to tender: ground segment</a> <time datetime="2025-01-07">7 Jan 2025</time></li>
</ul></body></html>"""
DETAIL = """<html><body><main><h1>{title}</h1><p>Applications close on 30 March 2025. Japanese companies
with a European partner are eligible.</p></main></body></html>"""


@pytest.fixture(scope="module")
def pool():
    executor = runtime._parse_pool(1)
    yield executor
    executor.shutdown()


def both_ways(source: Source, pool) -> tuple:
    with_pool = runtime._offload_to(pool)
    results = []
    for offload in (None, with_pool):
        retriever = retrieve.HttpRetriever(per_host=2)
        try:
            results.append(collect_source(source, retriever=retriever, offload=offload))
        finally:
            retriever.close()
    return tuple(results)


def test_a_feed_read_in_the_pool_is_the_feed_read_in_place(http_server, pool):
    url = http_server.add("/feed.xml", body=fresh_feed(datetime.now(timezone.utc), n=4))
    in_place, pooled = both_ways(Source("feed", "ESA", "feed", url), pool)
    assert in_place.ok and len(in_place.announcements) == 4
    assert pooled.announcements == in_place.announcements and pooled.error is None


def test_a_page_with_item_pages_gets_them_either_way(http_server, pool):
    url = http_server.add("/calls", body=LISTING, content_type="text/html")
    http_server.add("/robots.txt", status=404)
    for n, title in ((1, "Lunar logistics"), (2, "Ground segment")):
        http_server.add(f"/calls/{n}", body=DETAIL.format(title=title), content_type="text/html")
    source = Source("page", "ESA", "html", url, options=HtmlOptions(item_selector="li", detail=True))
    in_place, pooled = both_ways(source, pool)
    assert [a.deadline for a in in_place.announcements] == [datetime(2025, 3, 30).date()] * 2
    assert pooled.announcements == in_place.announcements
    assert [a.role for a in pooled.others] == ["detail", "detail"] == [a.role for a in in_place.others]


def test_a_body_that_does_not_parse_is_the_same_one_line_error(http_server, pool):
    url = http_server.add("/broken.xml", body=b"<html><body>not a feed</body></html>", content_type="text/html")
    in_place, pooled = both_ways(Source("broken", "ESA", "feed", url), pool)
    assert in_place.error and pooled.error == in_place.error and "\n" not in pooled.error



def test_the_fork_servers_warm_up_loads_every_rule_set_it_is_meant_to_spare_the_workers():
    from spacedigest.sources import amounts, classify, eligibility, warm

    for cache in (classify._load_rules_cached, eligibility._load_cached, amounts._load_cached):
        cache.cache_clear()
    warm.warm_up()  # raises if the sample no longer goes through the interpretation
    assert all(cache.cache_info().currsize for cache in
               (classify._load_rules_cached, eligibility._load_cached, amounts._load_cached))
