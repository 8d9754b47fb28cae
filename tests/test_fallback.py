"""A page source whose layout changed: the alarm stays, the week's items still arrive through the
html kind's fallback, and fixing the selectors afterwards duplicates nothing. Real HTTP (whole
fixture sites, tests/sites.py) and a real DuckDB warehouse; the collect flow's steps without Prefect
(tests/test_service.py runs the same through the command)."""
from __future__ import annotations

import tomllib
import uuid
from dataclasses import replace
from datetime import datetime, timezone

import pytest
import requests

from spacedigest.sources.catalog import sources_from_data
from spacedigest.sources.html import suggested_selectors
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import FetchPolicy, HttpRetriever
from spacedigest.warehouse import captures, db, health, load
from tests.sites import listing_url, serve_site

FAST = FetchPolicy(connect_timeout=1, read_timeout=2, deadline=5, backoff=0.05)

# The selectors staff wrote for each site's first design.
CLASSIC = {
    "wordpress": {"item_selector": "article.post", "title_selector": "h2.entry-title a",
                  "date_selector": "time.entry-date", "summary_selector": ".entry-summary"},
    "drupal": {"item_selector": ".view-news .views-row", "title_selector": ".views-field-title a",
               "date_selector": ".views-field-created time", "summary_selector": ".views-field-body"},
    "static": {"item_selector": "ul.news li", "date_selector": "span.date"},
}
JS_SHELL = b"<html><head>%s</head><body><div id='app'>Loading...</div><script src='/app.js'></script></body></html>"


def source_for(http_server, site: str, **options):
    [source] = sources_from_data({"source": [{"id": f"{site}-news", "organisation": site.title(), "kind": "html",
                                              "url": listing_url(http_server, site), **CLASSIC[site], **options}]})
    return source


def collect(home, sources: list) -> tuple[list, list]:
    """What the collect flow does with these sources, without Prefect: (results, lines)."""
    now = datetime.now(timezone.utc)
    run_id = str(uuid.uuid4())
    with db.writer(home, publish_copy=False) as con:
        states = health.begin_collect(con, sources, run_id, now=now)
    retriever = HttpRetriever(policy=FAST)
    try:  # every body kept, as the collect flow's task does (for reprocess)
        results = [captures.keep_bodies(home, collect_source(s, retriever=retriever, url=states[s.id].fetch_url,
                                                             validators=states[s.id].validators)) for s in sources]
    finally:
        retriever.close()
    with db.writer(home) as con:
        stats = load.load_announcements(con, [a for r in results for a in r.announcements], seen_at=now)
        lines = health.record_results(con, run_id, results, states, stats.new)
    return results, lines


def rows(home, sql: str) -> list[tuple]:
    with db.writer(home, publish_copy=False) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("site", ["wordpress", "drupal", "static"])
def test_a_redesign_raises_the_alarm_loads_the_week_and_the_fix_duplicates_nothing(http_server, tmp_path, site):
    home = tmp_path / "home"
    serve_site(http_server, site, "classic")
    source = source_for(http_server, site)
    [before], _ = collect(home, [source])
    assert before.error is None and before.served_by is None
    known = len(before.announcements)

    serve_site(http_server, site, "redesigned")  # the new design, and one new item this week
    [during], [line] = collect(home, [source])
    assert during.error is None
    assert "the page layout may have changed" in during.primary_error or "no item had both" in during.primary_error
    assert during.served_by.startswith("fallback: selectors derived from the page")
    assert (line.found, line.new, line.served_by) == (known + 1, 1, during.served_by)
    assert all(a.served_by == during.served_by for a in during.announcements)
    # the alarm stays visible to staff, the source is not backing off
    state, served_by, last_error, failures = rows(home, "select state, served_by, last_error, consecutive_failures "
                                                       f"from source_health where source_id = '{source.id}'")[0]
    assert state == "served by fallback" and served_by == f"served by {during.served_by}"
    assert last_error == during.primary_error and failures == 0
    assert rows(home, "select count(*) from item_sources where served_by is not null")[0][0] == 1  # the new one
    roles = rows(home, "select role, status, error is not null from fetches where run_id = "
                       "(select run_id from fetches order by id desc limit 1) order by id")
    assert roles[:2] == [("listing", "ok", False), ("primary", "error", True)]

    # staff paste the selectors `sources check` shows (sources.html.suggested_selectors)
    lines = suggested_selectors(requests.get(source.url, timeout=5).content, url=source.url, source=source)
    pasted = tomllib.loads("\n".join(line.strip() for line in lines[1:]))
    fixed = replace(source, options=replace(source.options, **{**dict.fromkeys(CLASSIC[site]), **pasted}))
    [after], [line] = collect(home, [fixed])
    assert after.error is None and after.served_by is None and line.new == 0
    assert rows(home, "select count(*) from items")[0][0] == known + 1
    assert rows(home, f"select state from source_health where source_id = '{source.id}'")[0][0] == "ok"


def test_a_redesign_into_a_script_shell_falls_back_to_the_announced_feed(http_server, tmp_path, monkeypatch):
    """No list left in the HTML: the feed the page announces serves the week; its entries carry the
    same links and titles, so the items loaded from the old page are not loaded twice."""
    home = tmp_path / "home"
    serve_site(http_server, "wordpress", "classic")
    source = source_for(http_server, "wordpress")
    collect(home, [source])
    assert rows(home, "select count(*) from items")[0][0] == 5
    feed_link = f'<link rel="alternate" type="application/rss+xml" title="Hub &raquo; Feed" href="{http_server.url("/feed/")}" />'
    http_server.set("/news/", body=JS_SHELL % feed_link.encode(), content_type="text/html")
    [result], [line] = collect(home, [source])
    assert result.served_by == f"fallback: announced feed {http_server.url('/feed/')}"
    assert (line.found, line.new) == (6, 1)
    assert rows(home, "select count(*) from items")[0][0] == 6
    # the five known items are now also carried by the feed's entries (same URL and title)
    assert rows(home, "select count(*) from item_sources where served_by is not null")[0][0] == 6
    assert_reprocess_rebuilds(home, source, 6, monkeypatch)


def assert_reprocess_rebuilds(home, source, count: int, monkeypatch) -> None:
    """Deleted items come back from the captures, offline, through the same fallback."""
    from spacedigest.flows.reprocess import reprocess
    from spacedigest.flows.settings import load_settings
    from spacedigest.sources.catalog import dump_catalog

    rows(home, "delete from items")
    catalog = home / "catalog.toml"
    catalog.write_text(dump_catalog([source]), encoding="utf-8")
    monkeypatch.setenv("SPACEDIGEST_HOME", str(home))
    monkeypatch.setenv("SPACEDIGEST_SOURCES", str(catalog))
    report = reprocess(load_settings())
    assert report.errors == [] and report.missing == 0
    assert rows(home, "select count(*) from items")[0][0] == count


def test_a_drupal_redesign_without_feed_or_list_falls_back_to_the_sitemap(http_server, tmp_path, monkeypatch):
    home = tmp_path / "home"
    serve_site(http_server, "drupal", "nofeed")
    http_server.set("/news", body=JS_SHELL % b"", content_type="text/html")
    source = source_for(http_server, "drupal")
    [result], [line] = collect(home, [source])
    assert result.served_by == (f"fallback: sitemap {http_server.url('/sitemap.xml')} (pages under /news/)")
    assert line.found == 6 and all(not a.published_estimated for a in result.announcements)
    # what the search tried is logged (and captured for reprocess), not counted as failures
    assert rows(home, "select count(*) from fetches where role = 'discover'")[0][0] > 0
    assert rows(home, "select failures_7d from source_health")[0][0] == 1  # the page that lost its list
    assert_reprocess_rebuilds(home, source, 6, monkeypatch)


def test_a_page_that_did_not_load_has_no_fallback(http_server, tmp_path):
    source = source_for(http_server, "static")  # nothing served: 404
    [result], [line] = collect(tmp_path / "home", [source])
    assert result.error == "HTTP 404 Not Found" and result.served_by is None and line.status == "error"
