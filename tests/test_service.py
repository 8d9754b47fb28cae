"""Living with it as a service, through the real command and flows: page sources that change
layout or forbid robots, duplicates across feeds, edits between collects, source health and
backoff, staff sessions left open, reprocessing from raw captures, scheduling."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime


from spacedigest.sources.catalog import dump_catalog, load_catalog, sources_from_data
from tests.conftest import FIXTURES
from tests.test_e2e import catalog_toml, fresh_feed, query_json

BUILTIN = {s.id: s for s in load_catalog()}


def write_catalog(tmp_path, sources) -> dict:
    path = tmp_path / "catalog.toml"
    path.write_text(dump_catalog(sources), encoding="utf-8")
    return {"SPACEDIGEST_SOURCES": str(path)}


def test_a_changed_page_layout_fails_that_source_only_and_shows_in_health(cli, http_server, tmp_path):
    http_server.add("/news/", body=(FIXTURES / "pages" / "crossu_news.html").read_bytes(), content_type="text/html")
    http_server.add("/feed.xml", body=fresh_feed(datetime.now(timezone.utc)))
    env = write_catalog(tmp_path, [
        replace(BUILTIN["crossu-news"], url=http_server.url("/news/")),
        replace(BUILTIN["esa-topnews"], url=http_server.url("/feed.xml")),
    ])
    ok = cli("collect", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert query_json(cli, "select count(*) as n from items where source_id = 'crossu-news'")[0]["n"] > 0

    http_server.set("/news/", body=b"<html><body><div class='renewed'><p>New design</p></div></body></html>",
                    content_type="text/html")
    changed = cli("collect", env=env)
    assert changed.returncode == 3, changed.stdout + changed.stderr
    assert "matched nothing" in changed.stdout and "Traceback" not in changed.stdout + changed.stderr
    health = {r["source_id"]: r for r in query_json(cli, "select * from source_health")}
    assert health["crossu-news"]["state"] == "failing"
    assert "the page layout may have changed" in health["crossu-news"]["last_error"]
    assert health["esa-topnews"]["state"] == "ok"


def test_a_page_disallowed_by_robots_is_not_fetched(cli, http_server, tmp_path):
    http_server.add("/robots.txt", body=b"User-agent: *\nDisallow: /news/\n", content_type="text/plain")
    http_server.add("/news/", body=(FIXTURES / "pages" / "crossu_news.html").read_bytes(), content_type="text/html")
    env = write_catalog(tmp_path, [replace(BUILTIN["crossu-news"], url=http_server.url("/news/"))])
    run = cli("collect", env=env)
    assert run.returncode == 3
    assert "robots.txt" in run.stdout
    assert http_server.hits["/news/"] == 0


def test_one_announcement_from_two_feeds_under_different_guids_is_one_item(cli, http_server, tmp_path):
    now = datetime.now(timezone.utc)
    body = fresh_feed(now, n=2)
    http_server.add("/a.xml", body=body)
    http_server.add("/b.xml", body=body.replace(b"urn:call:", b"tag:mirror.example,2026:"))
    env = {"SPACEDIGEST_SOURCES": str(tmp_path / "c.toml")}
    (tmp_path / "c.toml").write_text(catalog_toml([("feed-a", "ESA", http_server.url("/a.xml")),
                                                  ("feed-b", "ESA", http_server.url("/b.xml"))]))
    assert cli("collect", env=env).returncode == 0
    assert query_json(cli, "select count(*) as n from items") == [{"n": 2}]
    rows = query_json(cli, "select item_id, count(*) as n from item_sources group by item_id")
    assert [r["n"] for r in rows] == [2, 2]


def test_a_moved_deadline_is_a_revision_and_is_marked_in_the_next_digest(cli, http_server, tmp_path):
    now = datetime.now(timezone.utc)
    first, moved = now + timedelta(days=20), now + timedelta(days=34)

    def feed(deadline):
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>ESA</title><link>https://esa.int/</link>'
                f"<item><title>ESA InCubed call for Earth observation start-ups</title>"
                f"<link>https://business.esa.int/funding/incubed</link><guid>incubed-2026</guid>"
                f"<description>Funding call. Closing date: {deadline:%d %B %Y}.</description>"
                f"<pubDate>{format_datetime(now - timedelta(days=1))}</pubDate></item></channel></rss>").encode()

    http_server.add("/esa.xml", body=feed(first))
    (tmp_path / "c.toml").write_text(catalog_toml([("esa-business", "ESA", http_server.url("/esa.xml"))]))
    env = {"SPACEDIGEST_SOURCES": str(tmp_path / "c.toml")}
    assert cli("collect", env=env).returncode == 0
    assert cli("digest", env=env).returncode == 0
    http_server.set("/esa.xml", body=feed(moved))
    assert cli("collect", env=env).returncode == 0
    revisions = query_json(cli, "select old_deadline, new_deadline from item_revisions")
    assert revisions == [{"old_deadline": f"{first:%Y-%m-%d}", "new_deadline": f"{moved:%Y-%m-%d}"}]
    digest = cli("digest", env=env)
    assert digest.returncode == 0, digest.stderr
    ja = next(p for p in digest.stdout.split() if p.endswith(".ja.md"))
    en = next(p for p in digest.stdout.split() if p.endswith(".en.md"))
    assert "締切延長" in open(ja, encoding="utf-8").read()
    assert "deadline extended" in open(en, encoding="utf-8").read().lower()


def test_failing_sources_back_off_recover_and_gone_sources_are_disabled(cli, http_server, tmp_path):
    now = datetime.now(timezone.utc)
    http_server.add("/flaky.xml", status=500, body=b"oops")
    http_server.add("/gone.xml", status=410, body=b"gone")
    (tmp_path / "c.toml").write_text(catalog_toml([("flaky", "ESA", http_server.url("/flaky.xml")),
                                                  ("gone", "ESA", http_server.url("/gone.xml"))]))
    env = {"SPACEDIGEST_SOURCES": str(tmp_path / "c.toml")}
    checks = []
    for _ in range(3):
        assert cli("collect", env=env).returncode == 3
        row = query_json(cli, "select consecutive_failures, next_check_at from source_health where source_id = 'flaky'")[0]
        checks.append(row)
    assert [c["consecutive_failures"] for c in checks] == [1, 2, 3]
    assert checks[-1]["consecutive_failures"] == 3
    assert checks[-1]["next_check_at"] > checks[0]["next_check_at"]
    gone = query_json(cli, "select enabled, state, disabled_reason from source_health where source_id = 'gone'")[0]
    assert gone["enabled"] is False and gone["state"] == "disabled" and "410" in gone["disabled_reason"]

    http_server.set("/flaky.xml", status=200, body=fresh_feed(now))
    recovered = cli("collect", env=env)
    assert "FAILED flaky" not in recovered.stdout
    assert query_json(cli, "select consecutive_failures from source_health where source_id = 'flaky'") == [
        {"consecutive_failures": 0}]
    assert query_json(cli, "select count(*) as n from items")[0]["n"] == 3
    assert query_json(cli, "select count(*) as n from fetches where source_id = 'gone'") == [{"n": 1}]


def test_collect_succeeds_while_a_staff_session_holds_the_staff_file(cli, http_server, tmp_path):
    now = datetime.now(timezone.utc)
    http_server.add("/esa.xml", body=fresh_feed(now, n=2))
    (tmp_path / "c.toml").write_text(catalog_toml([("esa", "ESA", http_server.url("/esa.xml"))]))
    env = {"SPACEDIGEST_SOURCES": str(tmp_path / "c.toml")}
    assert cli("collect", env=env).returncode == 0
    staff_file = cli.home / "staff" / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); c.execute('select 1').fetchall(); "
         "print('open', flush=True); time.sleep(120)", str(staff_file)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        http_server.set("/esa.xml", body=fresh_feed(now, n=4, prefix="Tender"))
        run = cli("collect", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert query_json(cli, "select count(*) as n from items") == [{"n": 6}]
    finally:
        holder.kill()
        holder.wait()


def test_reprocess_restores_items_from_raw_captures_offline(cli, http_server, tmp_path):
    now = datetime.now(timezone.utc)
    http_server.add("/esa.xml", body=fresh_feed(now, n=5))
    http_server.add("/news/", body=(FIXTURES / "pages" / "crossu_news.html").read_bytes(), content_type="text/html")
    env = write_catalog(tmp_path, [replace(BUILTIN["crossu-news"], url=http_server.url("/news/")),
                                   replace(BUILTIN["esa-topnews"], url=http_server.url("/esa.xml"))])
    assert cli("collect", env=env).returncode == 0
    before = query_json(cli, "select count(*) as n from items")[0]["n"]
    # Delete every item directly in the warehouse, then rebuild without a server.
    import duckdb

    con = duckdb.connect(str(cli.home / "warehouse.duckdb"))
    con.execute("DELETE FROM items")  # as staff would; item_sources still point at the old ids
    con.close()
    http_server.set("/esa.xml", status=500, body=b"down")
    hits = dict(http_server.hits)
    result = cli("reprocess", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert dict(http_server.hits) == hits  # no network
    assert query_json(cli, "select count(*) as n from items") == [{"n": before}]
    again = cli("reprocess", env=env)
    assert again.returncode == 0 and query_json(cli, "select count(*) as n from items") == [{"n": before}]


def test_serve_registers_both_schedules(cli, prefect_api):
    result = cli("serve", "--register-only")
    assert result.returncode == 0, result.stdout + result.stderr
    prefect = os.path.join(os.path.dirname(sys.executable), "prefect")
    listing = subprocess.run([prefect, "deployment", "ls"], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PREFECT_API_URL=prefect_api))
    assert "weekly/weekly-digest" in listing.stdout and "daily/daily-collect" in listing.stdout, listing.stdout


def test_a_permanent_redirect_updates_the_stored_url_and_keeps_the_catalogs(cli, http_server, tmp_path):
    http_server.add("/new.xml", body=fresh_feed(datetime.now(timezone.utc), n=1))
    http_server.redirect("/old.xml", http_server.url("/new.xml"), status=301)
    (tmp_path / "c.toml").write_text(catalog_toml([("moved", "ESA", http_server.url("/old.xml"))]))
    env = {"SPACEDIGEST_SOURCES": str(tmp_path / "c.toml")}
    assert cli("collect", env=env).returncode == 0
    assert cli("collect", env=env).returncode == 0
    row = query_json(cli, "select url, current_url from sources where id = 'moved'")[0]
    assert row == {"url": http_server.url("/old.xml"), "current_url": http_server.url("/new.xml")}
    assert http_server.hits["/old.xml"] == 1  # the second collect went straight to the new URL


def test_a_second_run_in_the_same_week_sends_nothing_again(cli, http_server, tmp_path):
    http_server.add("/esa.xml", body=fresh_feed(datetime.now(timezone.utc), n=2))
    (tmp_path / "c.toml").write_text(catalog_toml([("esa", "ESA", http_server.url("/esa.xml"))]))
    env = {"SPACEDIGEST_SOURCES": str(tmp_path / "c.toml")}
    assert cli("subscribers", "add", "sato@example.jp", "--lang", "ja", env=env).returncode == 0
    first = cli("run", env=env)
    assert first.returncode == 0 and "sent 1" in first.stdout, first.stdout + first.stderr
    second = cli("run", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "digest: skipped" in second.stdout
    assert len(list((cli.home / "outbox").glob("*.eml"))) == 1


def test_a_wordpress_source_falls_back_to_its_feed_when_the_api_fails(cli, http_server, tmp_path):
    harwell = BUILTIN["harwell-news"]
    http_server.add("/wp-json/wp/v2/posts", status=500, body=b"database error")
    http_server.add("/feed/", body=fresh_feed(datetime.now(timezone.utc), n=3))
    env = write_catalog(tmp_path, [replace(harwell, url=http_server.url("/wp-json/wp/v2/posts"),
                                           options=replace(harwell.options, fallback_url=http_server.url("/feed/")))])
    run = cli("collect", env=env)
    # the items arrive; the API's failure stays an alarm (exit 3, named with how the items came)
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"FALLBACK harwell-news {http_server.url('/wp-json/wp/v2/posts')}: HTTP 500" in run.stdout
    assert f"served by fallback: feed {http_server.url('/feed/')}: 3 found, 3 new" in run.stdout
    assert query_json(cli, "select count(*) as n from items where source_id = 'harwell-news'") == [{"n": 3}]
    roles = query_json(cli, "select role, status from fetches order by id")
    assert roles == [{"role": "listing", "status": "ok"}, {"role": "primary", "status": "error"}]
    assert query_json(cli, "select state from source_health") == [{"state": "served by fallback"}]

    import duckdb

    con = duckdb.connect(str(cli.home / "warehouse.duckdb"))
    con.execute("DELETE FROM items")
    con.execute("DELETE FROM item_sources")
    con.close()
    assert cli("reprocess", env=env).returncode == 0
    assert query_json(cli, "select count(*) as n from items") == [{"n": 3}]


def test_sources_check_shows_what_each_selector_matched_without_touching_the_warehouse(cli, http_server, tmp_path):
    http_server.add("/news/", body=(FIXTURES / "pages" / "crossu_news.html").read_bytes(), content_type="text/html")
    http_server.add("/old/", body=b"<html><body><p>Redesigned</p></body></html>", content_type="text/html")
    env = write_catalog(tmp_path, [replace(BUILTIN["crossu-news"], url=http_server.url("/news/")),
                                   replace(BUILTIN["crossu-events"], url=http_server.url("/old/"))])
    result = cli("sources", "check", env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    news, events = result.stdout.split("== crossu-events")
    assert "item_selector" in news and "announcements; first ones:" in news and "http" in news
    assert "FAILED" in events and "matched nothing" in events
    assert not (cli.home / "warehouse.duckdb").exists()


def test_a_redesigned_page_is_served_by_its_fallback_until_the_selectors_are_fixed(cli, http_server, tmp_path):
    """The issue's check: the run reports the layout change and still loads the week's items; `sources
    check` shows the fallback and the selectors to paste; `reprocess` replays the fallback offline;
    fixed selectors duplicate nothing."""
    import tomllib

    from tests.sites import listing_url, serve_site

    serve_site(http_server, "wordpress", "classic")
    url = listing_url(http_server, "wordpress")
    entry = {"id": "hub-news", "organisation": "Orbital Ventures Hub", "kind": "html", "url": url,
             "item_selector": "article.post", "title_selector": "h2.entry-title a", "date_selector": "time.entry-date"}
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(dump_catalog(sources_from_data({"source": [entry]})), encoding="utf-8")
    env = {"SPACEDIGEST_SOURCES": str(catalog)}
    assert cli("collect", env=env).returncode == 0

    serve_site(http_server, "wordpress", "redesigned")
    run = cli("collect", env=env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"FALLBACK hub-news {url}: item selector 'article.post' matched nothing" in run.stdout
    assert "served by fallback: selectors derived from the page (li.hentry): 6 found, 1 new" in run.stdout
    health = query_json(cli, "select state, served_by, last_error from source_health")[0]
    assert health["state"] == "served by fallback" and "the page layout may have changed" in health["last_error"]
    assert query_json(cli, "select count(*) as n from items") == [{"n": 6}]

    check = cli("sources", "check", "hub-news", env=env)
    assert check.returncode == 3, check.stdout + check.stderr
    assert "collect would use the fallback: selectors derived from the page (li.hentry)" in check.stdout
    lines = check.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "new selectors, which read 6 item(s)" in line)
    pasted = tomllib.loads("\n".join(line.strip() for line in lines[start + 1:start + 5]))
    assert pasted["item_selector"] == "li.hentry"

    # the fallback's fetches were captured: reprocess rebuilds the items offline, no duplicates
    import duckdb

    con = duckdb.connect(str(cli.home / "warehouse.duckdb"))
    con.execute("DELETE FROM items")
    con.close()
    assert cli("reprocess", env=env).returncode == 0
    assert query_json(cli, "select count(*) as n from items") == [{"n": 6}]

    fixed = {k: v for k, v in entry.items() if not k.endswith("_selector")} | pasted
    catalog.write_text(dump_catalog(sources_from_data({"source": [fixed]})), encoding="utf-8")
    after = cli("collect", env=env)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "hub-news: 6 found, 0 new" in after.stdout
    assert query_json(cli, "select count(*) as n from items") == [{"n": 6}]
    assert query_json(cli, "select state from source_health") == [{"state": "ok"}]
