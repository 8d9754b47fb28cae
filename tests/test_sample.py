"""The demo's sample week (sources.sample) and what the demo does around it, without Prefect.

The sample is read here by the real parsers and rules, on several days of the year, so a date
written in a site's own way ("1er juin", 「2025年6月3日（火）」, a WordPress date_gmt) is read back
the same whatever the day the demo runs; the loopback server is a real one on 127.0.0.1.
"""
from __future__ import annotations

import tomllib
import urllib.error
import urllib.request
from datetime import date, datetime, time, timedelta, timezone

import pytest

from spacedigest.flows import demo
from spacedigest.flows.loopback import SampleSite, serve_folder
from spacedigest.reports import subscribers as subs
from spacedigest.reports.digest import TOKYO
from spacedigest.reports.render import SUMMARY_CHARS
from spacedigest.sources import kinds, sample
from spacedigest.sources.catalog import sources_from_data
from spacedigest.sources.pipeline import interpret

BASE = "http://127.0.0.1:8999"
# Month ends, a year's end, a leap day and the 1st ("1er" in French): the days dates go wrong on.
DAYS = [date(2025, 1, 31), date(2025, 6, 1), date(2025, 12, 30), date(2028, 2, 29)]


# ------------------------------------------------------------------ dates as the sites write them

def test_dates_in_each_sites_form():
    day = date(2025, 6, 3)
    assert sample.rfc822(day) == "Tue, 03 Jun 2025 09:00:00 +0000"
    assert sample.rfc822(day, "10:00", "Europe/Paris") == "Tue, 03 Jun 2025 10:00:00 +0200"
    assert sample.iso(day) == "2025-06-03T09:00:00Z"
    assert sample.iso(day, "14:00", "Asia/Tokyo") == "2025-06-03T14:00:00+09:00"
    assert sample.wp_gmt(day, "10:30") == "2025-06-03T10:30:00"
    assert sample.en(day) == "3 June 2025"
    assert sample.fr(day) == "3 juin 2025"
    assert sample.fr(date(2025, 8, 1)) == "1er août 2025"
    assert sample.ja(day) == "2025年6月3日"
    assert sample.ja(day, weekday=True) == "2025年6月3日（火）"
    assert sample.dmy(day) == "03/06/2025"


# ------------------------------------------------------------------ the sample read by the real parsers

def read_sample(today: date, *, extended: bool = False) -> dict[str, list]:
    """{source id: announcements}, as the demo's collect reads them on `today` (JST)."""
    pages = sample.render_site(today, extended=extended)
    fetched_at = datetime.combine(today, time(12), TOKYO).astimezone(timezone.utc)
    out = {}
    for source in sources_from_data(tomllib.loads(sample.render_catalog(BASE))):
        page = pages[source.url.removeprefix(BASE).split("?")[0]]
        parsed = kinds.kind_of(source).parse(source, page.body, url=source.url, content_type=page.content_type)
        out[source.id] = interpret(source, [parsed], url=source.url, fetched_at=fetched_at)
    return out


def by_title(found: dict[str, list]) -> dict[str, object]:
    return {a.title: a for items in found.values() for a in items}


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_the_sample_says_what_the_demo_promises_on_any_day(today):
    found = read_sample(today)
    assert sorted(found) == ["cnes-actualites", "crossu-events", "esa-business", "esa-topnews", "harwell-news",
                             "jaxa-aerospacebiz"]
    assert {a.language for items in found.values() for a in items} == {"en", "fr", "ja"}
    items = by_title(found)
    assert len(items) == 17  # 18 entries, one announcement carried by two feeds

    may_apply = {t for t, a in items.items() if a.status == "open" and a.eligibility in ("japan", "international")
                 and a.category in ("funding", "tender", "incubation", "partnership")}
    assert may_apply == {
        "Harwell Space Cluster opens International Partnership Programme – applications",
        "OSIP campaign: ideas for lunar surface communications, open worldwide",
        "宇宙戦略基金 第二期公募（衛星データ利用）を開始しました",
        "J-SPARC（宇宙イノベーションパートナーシップ）事業共創パートナーを募集しています",
    }
    assert items["OSIP campaign: ideas for lunar surface communications, open worldwide"].eligibility == "international"
    restricted = {a.eligibility_region for a in items.values() if a.eligibility == "restricted"}
    assert restricted == {"ESA Member States", "EU and associated countries", "UK", "France"}
    closed = [t for t, a in items.items() if a.status == "closed"]
    assert closed == ["月面探査に向けた技術提案の募集"]
    assert items[closed[0]].eligibility == "japan"  # would be in the first section, were it open

    events = [a for a in items.values() if a.category == "event"]
    assert len(events) == 4 and all(a.event_date and a.event_date > today for a in events)
    assert all(a.deadline and today < a.deadline < a.event_date for a in events)  # registration first
    assert {a.category for a in items.values()} >= {"funding", "tender", "incubation", "partnership", "event",
                                                   "programme"}
    for a in items.values():  # published in the week before, so the digest window holds them all
        assert today - timedelta(days=7) <= a.published_at.astimezone(TOKYO).date() < today
        assert len(a.summary or "") < SUMMARY_CHARS, a.title  # read whole in the digest, never cut


def test_the_duplicate_is_one_guid_in_two_feeds():
    found = read_sample(DAYS[0])
    shared = {a.guid for a in found["esa-business"]} & {a.guid for a in found["esa-topnews"]}
    assert shared == {"https://ideas.esa.example/campaigns/lunar-surface-communications"}


def test_the_second_capture_moves_one_deadline_and_nothing_else():
    today = DAYS[1]
    first, second = by_title(read_sample(today)), by_title(read_sample(today, extended=True))
    moved = {t: (first[t].deadline, second[t].deadline) for t in first if first[t].deadline != second[t].deadline}
    assert moved == {"Harwell Space Cluster opens International Partnership Programme – applications":
                     (today + timedelta(days=21), today + timedelta(days=35))}
    pages, later = sample.render_site(today), sample.render_site(today, extended=True)
    assert [p for p in pages if pages[p].body != later[p].body] == ["/harwell/wp-json/wp/v2/posts.json"]


def test_every_page_is_rendered_and_typed():
    pages = sample.render_site(DAYS[0])
    assert all(b"{{" not in p.body and b"{%" not in p.body for p in pages.values())
    assert pages["/crossu/event/index.html"].content_type.startswith("text/html")
    assert pages["/harwell/wp-json/wp/v2/posts.json"].content_type.startswith("application/json")
    assert pages["/cnes/fr/actualites.atom"].content_type.startswith("application/atom+xml")
    assert "/robots.txt" in pages


def test_the_catalog_points_every_source_at_the_sample_site():
    sources = sources_from_data(tomllib.loads(sample.render_catalog(BASE + "/")))
    assert all(s.url.startswith(BASE + "/") and s.enabled for s in sources)
    assert {s.kind for s in sources} == {"feed", "html", "wordpress"}


def test_two_sample_subscribers_one_per_language():
    parsed, errors = subs.parse_csv(subs.decode_csv(sample.subscribers_csv()))
    assert errors == []
    assert sorted(s.language for s in parsed) == ["en", "ja"]
    assert not any(s.organisations or s.categories or s.eligible_only for s in parsed)  # they get the whole digest


# ------------------------------------------------------------------ the sample site on loopback

def get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_sample_site_serves_pages_answers_304_when_unchanged_and_publishes_a_later_capture():
    today = DAYS[1]
    with SampleSite(sample.render_site(today)) as site:
        status, headers, body = get(site.url("/esa/rssfeed/business.xml"))
        assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
        assert body == sample.render_site(today)["/esa/rssfeed/business.xml"].body
        assert get(site.url("/esa/rssfeed/business.xml"), {"If-None-Match": headers["ETag"]})[0] == 304
        assert get(site.url("/nothing-here"))[0] == 404
        wp = site.url("/harwell/wp-json/wp/v2/posts.json?_fields=id&per_page=50")  # the query is the API's
        etag = get(wp)[1]["ETag"]
        site.publish(sample.render_site(today, extended=True))
        status, headers, body = get(wp, {"If-None-Match": etag})
        assert status == 200 and headers["ETag"] != etag and sample.en(today + timedelta(days=35)).encode() in body
    with pytest.raises(OSError):
        get(site.url("/robots.txt"))  # stopped: nothing listens any more


def test_serve_folder_serves_the_archive(tmp_path):
    (tmp_path / "index.html").write_text("<h1>アーカイブ</h1>", encoding="utf-8")
    (tmp_path / "calendar.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    with serve_folder(tmp_path) as archive:
        status, headers, body = get(archive.url("/index.html"))
        assert status == 200 and body.decode() == "<h1>アーカイブ</h1>" and "utf-8" in headers["Content-Type"]
        assert get(archive.url("/calendar.ics"))[1]["Content-Type"].startswith("text/calendar")


# ------------------------------------------------------------------ the demo's home and settings

def test_demo_environment_never_carries_the_users_mail_or_warehouse_settings(tmp_path):
    user = {"PATH": "/usr/bin", "SPACEDIGEST_HOME": "/srv/warehouse", "SPACEDIGEST_SMTP_URL": "smtp://mail:25",
            "SPACEDIGEST_STAFF_EMAIL": "staff@example.org", "SPACEDIGEST_SOURCES": "/etc/catalog.toml",
            "SPACEDIGEST_FROM": "Real <news@example.org>", "SPACEDIGEST_DEBUG": "1", "PREFECT_API_URL": "http://p/api"}
    env = demo.demo_environment(user, tmp_path / "demo", tmp_path / "demo" / "catalog.toml")
    assert "SPACEDIGEST_SMTP_URL" not in env and "SPACEDIGEST_STAFF_EMAIL" not in env
    assert env["SPACEDIGEST_HOME"] == str(tmp_path / "demo")
    assert env["SPACEDIGEST_SOURCES"] == str(tmp_path / "demo" / "catalog.toml")
    assert env["SPACEDIGEST_FROM"] == demo.SENDER
    assert env["SPACEDIGEST_DEBUG"] == "1" and env["PATH"] == "/usr/bin" and env["PREFECT_API_URL"] == "http://p/api"


def test_prepare_home_wipes_the_previous_demo_only(tmp_path):
    user_home = tmp_path / "data"
    home = user_home / "demo"
    demo.prepare_home(home, user_home=user_home)
    assert [p.name for p in home.iterdir()] == [demo.MARKER]
    (home / "warehouse.duckdb").write_bytes(b"previous demo")
    demo.prepare_home(home, user_home=user_home)
    assert [p.name for p in home.iterdir()] == [demo.MARKER]

    other = tmp_path / "someone-elses"
    other.mkdir()
    (other / "warehouse.duckdb").write_bytes(b"real data")
    with pytest.raises(demo.DemoError, match="holds files the demo did not make"):
        demo.prepare_home(other, user_home=user_home)
    assert (other / "warehouse.duckdb").read_bytes() == b"real data"
    for refused in (user_home, tmp_path):  # the user's warehouse, or a folder holding it
        with pytest.raises(demo.DemoError, match="SPACEDIGEST_HOME"):
            demo.prepare_home(refused, user_home=user_home)
