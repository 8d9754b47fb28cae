"""An event's days, read from a page, reach the warehouse, the digest and the calendar (issue 11):
real parsers, a real DuckDB file, the real digest job."""
from __future__ import annotations

from datetime import date, datetime, timezone

import icalendar

from spacedigest.flows import jobs
from spacedigest.flows.settings import load_settings
from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.kinds import kind_of
from spacedigest.sources.pipeline import interpret
from spacedigest.warehouse import db, load
from tests.conftest import FIXTURES

SEEN = datetime(2024, 10, 22, 3, tzinfo=timezone.utc)  # Tuesday of ISO week 2024-W43 (Tokyo)


def test_event_dates_from_a_page_reach_warehouse_digest_and_calendar(tmp_path, monkeypatch):
    monkeypatch.setenv("SPACEDIGEST_HOME", str(tmp_path / "home"))
    settings = load_settings()
    source = {s.id: s for s in load_catalog()}["crossu-events"]
    page = kind_of(source).parse(source, (FIXTURES / "pages" / "crossu_events.html").read_bytes(), url=source.url,
                                 content_type="text/html")
    announcements = interpret(source, [page], url=source.url, fetched_at=SEEN)
    with db.writer(settings.home) as con:
        load.load_announcements(con, announcements, seen_at=SEEN)
    with db.reader(settings.home) as con:
        rows = con.execute("SELECT title, event_date, event_end, deadline FROM items ORDER BY event_date").fetchall()
    assert rows[0][1:] == (date(2024, 10, 8), date(2024, 10, 8), date(2024, 10, 4))
    assert rows[1][1:] == (date(2024, 11, 18), date(2024, 11, 18), date(2024, 11, 15))  # 開催日 / 申込締切

    report = jobs.build_digest(settings, week="2024-W43", now=SEEN)
    html = open(report.paths["ja"]["html"], encoding="utf-8").read()
    assert "開催 11月18日（月）・申込締切 11月15日（金）（残り24日）" in html  # the day, and the deadline apart
    english = " ".join(open(report.paths["en"]["txt"], encoding="utf-8").read().split())
    assert "takes place 18 Nov, register by 15 Nov (24 days left)" in english

    calendar = icalendar.Calendar.from_ical(open(report.paths["site"]["calendar"], "rb").read())
    events = {(str(e["summary"]), e.decoded("dtstart")) for e in calendar.walk("VEVENT")}
    title = rows[1][0]
    assert (title, date(2024, 11, 18)) in events  # the event on its day
    assert (f"締切: {title}", date(2024, 11, 15)) in events  # and its registration deadline
