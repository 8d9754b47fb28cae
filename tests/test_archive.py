"""Static archive, Atom feed and iCalendar (reports.archive), and a real browser reading the archive."""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import feedparser
import icalendar
import pytest
from bs4 import BeautifulSoup

from spacedigest.reports.archive import SITE_LINKS, atom_feed, calendar, page_name, site_entry, write_site
from spacedigest.reports.digest import DigestItem, build_digest, week_window
from tests import factories

UTC = timezone.utc


def make_item(id: str, **overrides) -> DigestItem:
    return factories.make_item(id, **{"category": "funding", **overrides})


ITEMS = [
    make_item("call", title="宇宙ビジネス実証支援プログラム 公募", status="open", deadline=date(2024, 12, 20),
              deadline_kind="date", japan_relevant=True, japan_reason="JAXA"),
    make_item("tender", title="ITT: ground segment study", category="tender", status="forthcoming",
              deadline=date(2025, 2, 1), deadline_kind="date", opening_date=date(2024, 12, 1)),
    make_item("rolling", title="Always-open incubation", category="incubation", status="open", deadline_kind="rolling"),
    make_item("closed", title="Closed call", status="closed", deadline=date(2024, 10, 1), deadline_kind="date"),
    make_item("event", title="Harwell Space Cluster meet-up", category="event", event_date=date(2024, 12, 5),
              url="javascript:alert(1)"),
    make_item("past-event", title="Past event", category="event", event_date=date(2024, 11, 1)),
]


def entries_for(*weeks: str, items=ITEMS) -> list[dict]:
    entries = []
    for week in weeks:
        window = week_window(week)
        for lang in ("ja", "en"):
            digest = build_digest(items if week == weeks[-1] else [], window, lang=lang, generated_at=window.end,
                                  today=date(2024, 11, 25))
            entries.append(site_entry(digest))
    return entries


# ------------------------------------------------------------------ site

def test_site_has_index_newest_first_and_a_page_per_digest(tmp_path: Path):
    site = tmp_path / "site"
    index = write_site(site, entries_for("2024-W46", "2024-W47"))
    assert index == site / "index.html"
    for name in ("2024-W46.ja.html", "2024-W46.en.html", "2024-W47.ja.html", "2024-W47.en.html"):
        assert (site / name).is_file()
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "lxml")
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs == ["2024-W47.ja.html", "2024-W47.en.html", "2024-W46.ja.html", "2024-W46.en.html"]
    text = soup.get_text(" ")
    assert "2024年11月18日（月） 〜 2024年11月24日（日）" in text
    assert "（6件）" in text and "（0件）" in text
    # every link is relative and resolves to a file: the archive works from file:// without a server
    assert all((site / href).is_file() for href in hrefs)


def test_pages_use_relative_site_links(tmp_path: Path):
    site = tmp_path / "site"
    write_site(site, entries_for("2024-W47"), feed=b"<feed/>", calendar_ics=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    page = BeautifulSoup((site / "2024-W47.ja.html").read_text(encoding="utf-8"), "lxml")
    hrefs = {a["href"] for a in page.find_all("a")}
    assert set(SITE_LINKS.values()) <= hrefs
    assert "宇宙ビジネス実証支援プログラム 公募" in page.get_text()
    index = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "lxml")
    assert {"feed.atom", "calendar.ics"} <= {a["href"] for a in index.find_all("a")}
    assert (site / "feed.atom").read_bytes() == b"<feed/>"


def test_later_runs_pass_only_the_new_digest_and_the_index_keeps_the_old_ones(tmp_path: Path):
    site = tmp_path / "site"
    all_entries = entries_for("2024-W46", "2024-W47")
    write_site(site, all_entries[:2])  # W46
    write_site(site, all_entries[2:])  # W47 only
    hrefs = [a["href"] for a in BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "lxml").find_all("a")]
    assert hrefs == ["2024-W47.ja.html", "2024-W47.en.html", "2024-W46.ja.html", "2024-W46.en.html"]
    manifest = json.loads((site / "entries.json").read_text(encoding="utf-8"))
    assert [(m["label"], m["lang"]) for m in manifest][:2] == [("2024-W47", "ja"), ("2024-W47", "en")]
    # re-rendering a week replaces its entry, no duplicates
    write_site(site, all_entries[2:])
    assert len(json.loads((site / "entries.json").read_text(encoding="utf-8"))) == 4


def test_labels_that_would_escape_the_folder_are_refused(tmp_path: Path):
    entry = entries_for("2024-W47")[0]
    for label in ("../evil", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="invalid"):
            write_site(tmp_path, [{**entry, "label": label}])
    with pytest.raises(ValueError):
        page_name("2024-W47", "fr")


def test_empty_archive_says_so(tmp_path: Path):
    index = write_site(tmp_path / "site", [])
    assert "No digests yet." in index.read_text(encoding="utf-8")


# ------------------------------------------------------------------ Atom

def test_atom_feed_has_one_entry_per_digest_newest_first():
    data = atom_feed(entries_for("2024-W46", "2024-W47"), site_url="https://digest.example.org/archive")
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    links = [e.link for e in feed.entries]
    assert links == [f"https://digest.example.org/archive/{n}" for n in
                     ("2024-W47.ja.html", "2024-W47.en.html", "2024-W46.ja.html", "2024-W46.en.html")]
    assert feed.entries[0].title == "【宇宙ビジネス公募ダイジェスト】2024年11月18日〜11月25日 新着6件"
    assert "新着6件" in feed.entries[0].summary
    assert feed.entries[1].summary.endswith("(6 new items)")
    assert feed.entries[0].updated_parsed[:4] == (2024, 11, 24, 15)
    assert len({e.id for e in feed.entries}) == 4


# ------------------------------------------------------------------ iCalendar

def test_calendar_has_deadlines_and_events_as_all_day_events():
    cal = icalendar.Calendar.from_ical(calendar(ITEMS))
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"締切: 宇宙ビジネス実証支援プログラム 公募", "締切: ITT: ground segment study",
                           "Harwell Space Cluster meet-up", "Past event"}
    deadline = events["締切: 宇宙ビジネス実証支援プログラム 公募"]
    assert deadline["dtstart"].dt == date(2024, 12, 20) and deadline["dtend"].dt == date(2024, 12, 21)
    assert not isinstance(deadline["dtstart"].dt, datetime)  # all-day
    assert str(deadline["url"]) == "https://www.esa.int/call"
    assert "url" not in events["Harwell Space Cluster meet-up"]  # javascript: link dropped
    assert "javascript" not in calendar(ITEMS).decode()
    assert str(cal["prodid"]) == "-//spacedigest//EN" and str(cal["version"]) == "2.0"


def test_calendar_uids_are_stable_and_distinct_and_past_days_can_be_left_out():
    first, again = calendar(ITEMS), calendar(list(reversed(ITEMS)))
    assert first == again  # same items, same bytes: subscribers' calendars update in place
    uids = [str(e["uid"]) for e in icalendar.Calendar.from_ical(first).walk("VEVENT")]
    assert len(uids) == len(set(uids)) == 4
    renamed = calendar([make_item("call", title="Renamed", status="open", deadline=date(2024, 12, 20),
                                  deadline_kind="date")])
    assert [str(e["uid"]) for e in icalendar.Calendar.from_ical(renamed).walk("VEVENT")][0] in uids
    upcoming = icalendar.Calendar.from_ical(calendar(ITEMS, today=date(2024, 11, 25)))
    assert "Past event" not in {str(e["summary"]) for e in upcoming.walk("VEVENT")}


def test_empty_calendar_is_still_valid():
    cal = icalendar.Calendar.from_ical(calendar([]))
    assert cal.walk("VEVENT") == []


# ------------------------------------------------------------------ a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-extensions", *args],
        capture_output=True, timeout=60,
    )


@pytest.mark.slow  # a browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium fonts-noto-cjk)")
def test_archive_renders_in_headless_chromium(tmp_path: Path):
    site = tmp_path / "site"
    index = write_site(site, entries_for("2024-W46", "2024-W47"), feed=atom_feed(entries_for("2024-W47"),
                       site_url=site.as_uri()), calendar_ics=calendar(ITEMS))
    page = site / "2024-W47.ja.html"
    doms = {}
    for target in (index, page):
        dom = _chromium("--dump-dom", target.as_uri())
        assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-500:]
        doms[target.name] = BeautifulSoup(dom.stdout.decode("utf-8"), "lxml")
        assert "宇宙ビジネス公募ダイジェスト" in doms[target.name].get_text()
        shot = tmp_path / f"{target.stem}.png"
        result = _chromium("--window-size=900,1200", f"--screenshot={shot}", target.as_uri())
        assert result.returncode == 0 and shot.is_file(), result.stderr.decode(errors="replace")[-500:]
        png = shot.read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000  # a blank page is ~5 kB
    assert [a["href"] for a in doms["index.html"].find_all("a")][-4:] == [
        "2024-W47.ja.html", "2024-W47.en.html", "2024-W46.ja.html", "2024-W46.en.html"]
    assert "締切 12月20日（金）（残り25日）" in " ".join(doms[page.name].get_text(" ").split())
