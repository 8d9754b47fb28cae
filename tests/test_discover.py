"""`sources discover`: from any page of a site to a working catalog entry, against whole sites
written the way WordPress, Drupal and a hand-made site render them (tests/sites.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from spacedigest.sources.catalog import dump_catalog, load_catalog, sources_from_data
from spacedigest.sources.discover import AUTO, discover, source_id_for
from spacedigest.sources.models import Source
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import FetchPolicy, HttpRetriever
from tests.sites import listing_url, serve_site

FAST = FetchPolicy(connect_timeout=1, read_timeout=2, deadline=5, backoff=0.05)

# site, variant -> (step, kind, where the source reads, items)
EXPECTED = {
    ("wordpress", "classic"): ("2", "feed", "/feed/", 6),
    ("wordpress", "redesigned"): ("2", "feed", "/feed/", 6),
    ("wordpress", "nofeed"): ("3", "wordpress", "/wp-json/wp/v2/posts", 6),
    ("drupal", "classic"): ("2", "feed", "/news/rss.xml", 6),
    ("drupal", "redesigned"): ("2", "feed", "/news/rss.xml", 6),
    ("drupal", "nofeed"): ("4", "sitemap", "/sitemap.xml", 6),
    ("static", "classic"): ("5", "html", "/news/", 4),
    ("static", "redesigned"): ("5", "html", "/news/", 5),
}


def found_for(http_server, site: str, variant: str):
    serve_site(http_server, site, variant)
    url = listing_url(http_server, site)
    retriever = HttpRetriever(policy=FAST)
    try:
        report = discover(url, retriever, Source(id="found", organisation="", kind="feed", url=url, language=AUTO))
        if report.found is None:
            return report, None, None
        # the printed entry, pasted into a catalog, collects the same items
        [pasted] = sources_from_data(tomllib.loads(dump_catalog([report.found.source])))
        return report, pasted, collect_source(pasted, retriever=retriever)
    finally:
        retriever.close()


@pytest.mark.parametrize("site, variant", list(EXPECTED), ids=[f"{s}-{v}" for s, v in EXPECTED])
def test_discover_finds_a_working_source_on_every_kind_of_site(http_server, site, variant):
    step, kind, path, count = EXPECTED[(site, variant)]
    report, pasted, result = found_for(http_server, site, variant)
    assert report.found is not None, report.tried
    assert (report.found.step, pasted.kind, pasted.url) == (step, kind, http_server.url(path))
    assert result.error is None
    assert len(result.announcements) == count
    assert all(not a.published_estimated for a in result.announcements)  # every item has its date
    assert all(a.url.startswith(http_server.base_url + "/news/") for a in result.announcements)


def test_the_found_sources_read_the_same_items_whatever_the_way(http_server):
    """Feed, WordPress API and the page itself give one site's posts with the same titles and URLs."""
    ways = {}
    for variant in ("classic", "nofeed"):
        _, _, result = found_for(http_server, "wordpress", variant)
        ways[variant] = {(a.title, a.url) for a in result.announcements}
    assert ways["classic"] == ways["nofeed"] and len(ways["classic"]) == 6


def test_comment_feeds_and_json_alternates_are_not_taken_for_the_content(http_server):
    report, pasted, _ = found_for(http_server, "wordpress", "classic")
    assert pasted.url.endswith("/feed/")
    assert not any("/comments/feed/" in t.where or "/wp/v2/pages/" in t.where for t in report.tried)


def test_the_template_is_completed_from_the_page(http_server):
    _, pasted, _ = found_for(http_server, "static", "redesigned")
    # no <html lang>, but Japanese text; the site's name from the page title
    assert (pasted.language, pasted.organisation) == ("ja", "関西宇宙ビジネス研究会")
    assert pasted.name == "お知らせ一覧 - 関西宇宙ビジネス研究会"
    assert source_id_for("https://www.harwellcampus.com/news/space/") == "harwellcampus-com-news-space"
    assert source_id_for("http://127.0.0.1:8001/news") == "127-0-0-1-8001-news"  # two local sites, two ids
    _, pasted, _ = found_for(http_server, "wordpress", "classic")
    assert pasted.organisation == "Orbital Ventures Hub"  # "News – Orbital Ventures Hub"


def test_nothing_fits_says_what_was_tried(http_server):
    url = http_server.add("/app/", body=b"<html><body><div id='app'>Loading...</div></body></html>",
                          content_type="text/html")
    retriever = HttpRetriever(policy=FAST)
    try:
        report = discover(url, retriever, Source(id="x", organisation="X", kind="feed", url=url))
    finally:
        retriever.close()
    assert report.found is None
    steps = [t.step for t in report.tried]
    for step in ("1 the URL", "2 common feed path", "3 WordPress API", "4 sitemap", "5 page structure"):
        assert step in steps


# --- the command ----------------------------------------------------------------------------


def spacedigest(*args: str, home: Path) -> subprocess.CompletedProcess:
    """The real console script; `sources discover` starts no Prefect (fast tier)."""
    exe = Path(sys.executable).with_name("spacedigest")
    env = dict(os.environ, SPACEDIGEST_HOME=str(home), SPACEDIGEST_FETCH_DEADLINE="5")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_command_prints_an_entry_to_paste_and_its_first_items(http_server, tmp_path):
    serve_site(http_server, "drupal", "nofeed")
    done = spacedigest("sources", "discover", listing_url(http_server, "drupal"), "--organisation",
                       "Nordic Space Office", "--id", "nso-news", "--header", "Accept-Language: en",
                       home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "# found (step 4): sitemap" in out
    assert "#   2024-05-22  Small satellite launch opportunity from Andøya announced" in out
    # the whole output is TOML: it can be appended to a catalog as it is
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(out, encoding="utf-8")
    [source] = load_catalog(catalog)
    assert (source.id, source.organisation, source.kind, source.options.section) == (
        "nso-news", "Nordic Space Office", "sitemap", "/news/")
    assert source.headers == (("Accept-Language", "en"),)


def test_the_command_exits_3_when_nothing_fits_and_2_on_bad_usage(http_server, tmp_path):
    url = http_server.add("/app/", body=b"<html><body><div id='app'></div></body></html>", content_type="text/html")
    nothing = spacedigest("sources", "discover", url, home=tmp_path)
    assert nothing.returncode == 3 and f"# nothing to follow at {url}" in nothing.stdout
    assert "5 page structure" in nothing.stdout and "Traceback" not in nothing.stdout + nothing.stderr
    bad = spacedigest("sources", "discover", "ftp://example.org/", home=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip() == \
        "spacedigest: sources discover: 'ftp://example.org/' is not an http(s) URL"


@pytest.mark.parametrize("path, kind", [("/feed/", "feed"), ("/wp-json/wp/v2/posts", "wordpress"),
                                        ("/wp-sitemap-posts-post-1.xml", "sitemap")])
def test_a_url_that_is_a_feed_an_api_or_a_sitemap_is_taken_as_it_is(http_server, path, kind):
    serve_site(http_server, "wordpress", "classic")
    url = http_server.url(path)
    retriever = HttpRetriever(policy=FAST)
    try:
        report = discover(url, retriever, Source(id="x", organisation="Hub", kind="feed", url=url, language=AUTO))
        result = collect_source(report.found.source, retriever=retriever)
    finally:
        retriever.close()
    assert (report.found.step, report.found.source.kind, report.found.source.url) == ("1", kind, url)
    assert report.found.source.language == "en" and len(result.announcements) == 6
