"""The sitemap kind: the newest pages of one section of a sitemap, each read from its own page."""
from __future__ import annotations

import gzip
from datetime import date

import pytest

from spacedigest.sources.catalog import sources_from_data
from spacedigest.sources.models import ParseError
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import FetchPolicy, HttpRetriever
from spacedigest.sources.sitemap import in_section, read_sitemap, section_of
from tests.sites import FIXTURES, serve_site

FAST = FetchPolicy(connect_timeout=1, read_timeout=2, deadline=5, backoff=0.05)
BASE = "http://127.0.0.1:8000"


def fixture(site: str, name: str) -> bytes:
    return (FIXTURES / site / name).read_bytes().replace(b"@BASE@", BASE.encode())


def test_a_urlset_and_an_index():
    drupal = read_sitemap(fixture("drupal", "sitemap.xml"), url=BASE + "/sitemap.xml")
    assert not drupal.index and len(drupal.entries) == 13
    assert drupal.entries[0].loc.rstrip("/") == BASE
    news = [e for e in drupal.entries if in_section(e.loc, "/news/", BASE)]
    assert len(news) == 6 and all(e.lastmod for e in news)
    wordpress = read_sitemap(fixture("wordpress", "wp-sitemap.xml"), url=BASE + "/wp-sitemap.xml")
    assert wordpress.index and [e.loc for e in wordpress.entries][0] == BASE + "/wp-sitemap-posts-post-1.xml"
    gzipped = read_sitemap(gzip.compress(fixture("drupal", "sitemap.xml")), url=BASE + "/sitemap.xml.gz")
    assert gzipped == drupal


@pytest.mark.parametrize("body, reason", [
    (b"", "empty sitemap"),
    (b"<html><body>Not found</body></html>", "not a sitemap: the document is <html>"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><urlset><url><loc>&a;</loc></url></urlset>', None),
])
def test_bad_sitemaps_are_one_line_errors_and_entities_are_not_expanded(body, reason):
    if reason is None:
        assert [e.loc for e in read_sitemap(body, url=BASE).entries] == []  # "&a;" unexpanded: no usable URL
        return
    with pytest.raises(ParseError, match=reason):
        read_sitemap(body, url=BASE)


def test_the_section_of_a_page():
    assert section_of("https://x.org/news/") == "/news/"
    assert section_of("https://x.org/news") == "/news/"
    assert section_of("https://x.org/en/news/index.html") == "/en/news/"
    assert section_of("https://x.org/") == "/"
    assert in_section("https://x.org/news/a", "/news/", "https://x.org/")
    assert not in_section("https://x.org/news/", "/news/", "https://x.org/")  # the listing itself
    assert not in_section("https://other.org/news/a", "/news/", "https://x.org/")
    assert not in_section("https://x.org/newsletter", "/news/", "https://x.org/")


def test_a_sitemap_source_reads_titles_and_dates_from_each_page(http_server):
    base = serve_site(http_server, "drupal", "nofeed")
    [source] = sources_from_data({"source": [{"id": "nso", "organisation": "NSO", "kind": "sitemap",
                                              "url": base + "/sitemap.xml", "section": "/news/", "max_items": 4}]})
    retriever = HttpRetriever(policy=FAST)
    try:
        result = collect_source(source, retriever=retriever)
    finally:
        retriever.close()
    assert result.error is None
    assert [(a.title, a.published_at.date()) for a in result.announcements] == [
        ("Small satellite launch opportunity from Andøya announced", date(2024, 5, 22)),
        ("National space programme: funding for 2025 projects opens", date(2024, 5, 17)),
        ("Cooperation agreement with JAXA on Earth observation data", date(2024, 5, 14)),
        ("Space industry day in Tromsø on 12 September 2024", date(2024, 5, 8)),
    ]
    assert result.announcements[1].deadline == date(2024, 8, 30)  # read from the page's text
    assert [a.role for a in result.attempts] == ["listing"] + ["detail"] * 4


def test_an_index_is_refused_naming_its_sitemaps(http_server):
    base = serve_site(http_server, "wordpress", "classic")
    [source] = sources_from_data({"source": [{"id": "ovh", "organisation": "OVH", "kind": "sitemap",
                                              "url": base + "/wp-sitemap.xml", "section": "/news/"}]})
    retriever = HttpRetriever(policy=FAST)
    try:
        result = collect_source(source, retriever=retriever)
    finally:
        retriever.close()
    assert result.error == (f"a sitemap index, not a list of pages: use one of its sitemaps "
                            f"({base}/wp-sitemap-posts-post-1.xml, {base}/wp-sitemap-posts-page-1.xml, "
                            f"{base}/wp-sitemap-taxonomies-category-1.xml)")
