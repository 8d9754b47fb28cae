"""sources.classify: category, deadline, status and Japan relevance, on single phrases and on a
held-out feed of announcements that are not in the labelled bench set."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from spacedigest.sources.classify import (
    CATEGORIES,
    classify_category,
    enrich,
    extract_deadline,
    extract_opening_date,
    japan_relevance,
    load_rules,
    status_on,
)
from spacedigest.sources.i18n import CATEGORY_LABELS
from spacedigest.sources.models import Announcement, Source, Stated
from tests.conftest import FIXTURES, PROJECT_ROOT

HELDOUT = FIXTURES / "classify"
PUBLISHED = date(2024, 11, 10)
FETCHED = date(2024, 11, 20)


def announcement(title: str, summary: str = "", published: datetime | None = None) -> Announcement:
    return Announcement(
        source_id="test", organisation="ESA", entry_key=title, title=title, url=None, guid=None,
        summary=summary, published_at=published or datetime(2024, 11, 10, 9, tzinfo=timezone.utc),
        published_estimated=False, language="en", content_hash="h",
    )


# --- deadlines -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Closing date: 17 May 2025", date(2025, 5, 17)),
    ("Proposals are welcome, deadline 31 January 2025.", date(2025, 1, 31)),
    ("Apply by 15/01/2025 via the portal.", date(2025, 1, 15)),
    ("Date limite : 15 janvier 2025", date(2025, 1, 15)),
    ("Date limite : 9 février 2025", date(2025, 2, 9)),
    ("Candidatures jusqu'au 3 mars.", date(2025, 3, 3)),  # year-less: next 3 March after publication
    ("締切：2025年1月31日", date(2025, 1, 31)),
    ("応募締切 1月31日（金）", date(2025, 1, 31)),
    ("2025年1月31日（金）17時必着", date(2025, 1, 31)),
    ("見積書提出期限 令和7年3月14日（金）", date(2025, 3, 14)),  # era year
    ("募集期間：2024年12月1日～2025年1月31日", date(2025, 1, 31)),
    ("Ends in 12 days", date(2024, 12, 2)),  # relative to the fetch, not the publication
    ("Opening date: 18 March 2025 Closing date: 17 May 2025", date(2025, 5, 17)),
    ("Submissions close on 4 February 2025.", date(2025, 2, 4)),
    ("The portal is open until 30 June", date(2025, 6, 30)),
    ("Applications due 14 March 2025", date(2025, 3, 14)),
    ("Apply to pitch by 1 March.", date(2025, 3, 1)),
    ("The deadline of 15 January has been extended to 31 January 2025.", date(2025, 1, 31)),
    ("The call closed on 15 March with 120 proposals.", date(2024, 3, 15)),  # past tense: last 15 March
    ("1月31日締切、結果発表は3月15日の予定です。", date(2025, 1, 31)),  # the next clause is not the deadline
])
def test_deadline_forms(text, expected):
    assert extract_deadline(text, published=PUBLISHED, fetched=FETCHED) == (expected, "date")


@pytest.mark.parametrize("text", [
    "The conference takes place on 12 March 2025 in Paris.",
    "ESA's freighter will lift off to the International Space Station on 5 June.",
    "The exhibition runs until 30 June 2025.",
    "9月10日から13日まで開催した宇宙ウィークには2,000名が参加しました。",
    "Le satellite sera lancé avant le lancement de la mission le 5 juin 2025.",
])
def test_dates_without_a_deadline_cue_are_not_deadlines(text):
    assert extract_deadline(text, published=PUBLISHED, fetched=FETCHED) == (None, "none")


def test_event_registration_deadline_is_the_deadline_not_the_event_day():
    text = "The forum takes place on 12 March 2025 in Toulouse. Registration deadline: 28 February 2025."
    assert extract_deadline(text, published=PUBLISHED, fetched=FETCHED) == (date(2025, 2, 28), "date")


@pytest.mark.parametrize("text", [
    "The call is always open.", "Continuously open to companies in participating states.",
    "Applications are accepted on a rolling basis.", "JAXAはJ-SPARCの提案を随時受け付けています。",
    "申請は通年で受け付けています。", "Ce dispositif est un appel permanent.", "Dossiers instruits au fil de l'eau.",
])
def test_rolling_calls_have_no_fake_date(text):
    assert extract_deadline(text, published=PUBLISHED, fetched=FETCHED) == (None, "rolling")


def test_cut_off_of_a_rolling_call_is_not_a_deadline_but_a_closing_date_is():
    rolling = "Applications are continuously open; the next cut-off date is 30 September 2025."
    assert extract_deadline(rolling, published=PUBLISHED, fetched=FETCHED) == (None, "rolling")
    assert extract_deadline("随時募集（次回締切：2025年6月30日）", published=PUBLISHED, fetched=FETCHED) == (None, "rolling")
    dated = "Open call for ideas. Closing date 17 May 2025."
    assert extract_deadline(dated, published=PUBLISHED, fetched=FETCHED) == (date(2025, 5, 17), "date")


def test_opening_date():
    assert extract_opening_date("Opening date: 18 March 2025 Closing date: 17 May 2025",
                                published=PUBLISHED) == date(2025, 3, 18)
    assert extract_opening_date("募集期間：2024年12月1日～2025年1月31日", published=PUBLISHED) == date(2024, 12, 1)
    assert extract_opening_date("Deadline extended from 13 December 2024 to 10 January 2025",
                                published=PUBLISHED) is None


# --- status --------------------------------------------------------------------------------

def test_status_rules():
    today = date(2025, 3, 10)
    assert status_on(today, deadline=date(2025, 3, 9), deadline_kind="date", opening_date=None, category="funding") == "closed"
    assert status_on(today, deadline=today, deadline_kind="date", opening_date=None, category="funding") == "open"
    assert status_on(today, deadline=date(2025, 5, 1), deadline_kind="date", opening_date=date(2025, 4, 1),
                     category="funding") == "forthcoming"
    assert status_on(today, deadline=None, deadline_kind="rolling", opening_date=None, category="incubation") == "open"
    assert status_on(today, deadline=None, deadline_kind="rolling", opening_date=date(2025, 4, 1),
                     category="funding") == "forthcoming"
    assert status_on(today, deadline=None, deadline_kind="none", opening_date=None, category="funding") == "unknown"
    # news that mentions an "open call" is not itself an open call
    assert status_on(today, deadline=None, deadline_kind="rolling", opening_date=None, category="programme") == "unknown"


def test_status_day_is_tokyo_day():
    a = announcement("Call for proposals", "Closing date: 31 January 2025.")
    evening_utc_still_31st_in_tokyo = enrich(a, fetched_at=datetime(2025, 1, 31, 14, 0, tzinfo=timezone.utc))
    already_1st_in_tokyo = enrich(a, fetched_at=datetime(2025, 1, 31, 16, 0, tzinfo=timezone.utc))
    assert evening_utc_still_31st_in_tokyo.status == "open"
    assert already_1st_in_tokyo.status == "closed"


# --- category and Japan relevance ----------------------------------------------------------

@pytest.mark.parametrize("title, text, category", [
    ("Invitation to tender: ground segment software", "Tenders via esa-star.", "tender"),
    ("EIC Accelerator: next cut-off", "Grants and equity for deep-tech companies.", "funding"),
    ("ESA BIC UK is looking for new start-ups", "Join the incubator at Harwell.", "incubation"),
    ("Le CNES et la JAXA signent un accord", "Coopération sur Phobos.", "partnership"),
    ("Webinar: how to apply for funding", "A live webinar on 12 February.", "event"),
    ("ESA selects 12 start-ups for its Kick-start", "Co-funding for feasibility work.", "programme"),
    ("一般競争入札公告", "入札書の提出期限：2024年7月12日", "tender"),
    ("Vacancy: business applications officer", "ESA is recruiting.", "other"),
    ("Explosive crater twins on Mars", "Imaged by Mars Express.", "other"),
])
def test_categories_and_deciding_rule(title, text, category):
    got, rule = classify_category(title, text, load_rules())
    assert got == category
    assert rule == "default" or rule.split(".")[0] == category  # rule ids are "<category>.<name>"


def test_rules_are_data(tmp_path):
    custom = tmp_path / "rules.toml"
    custom.write_text('[[rule]]\nid = "mine.pitch"\ncategory = "event"\nweight = 5\nterms = ["pitch*"]\n',
                      encoding="utf-8")
    rules = load_rules(custom)
    assert classify_category("Pitching session for start-ups", "", rules) == ("event", "mine.pitch")
    assert classify_category("Nothing relevant here", "", rules) == ("other", "default")


def test_unknown_category_in_rules_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\ncategory = "grants"\nterms = ["a"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown category 'grants'"):
        load_rules(bad)


@pytest.mark.parametrize("title, text, flag, reason", [
    ("ESA and JAXA sign a letter of intent", "", True, "mentions JAXA"),
    ("Harwell welcomes companies from Japan", "", True, "mentions Japan"),
    ("Accelerator open to all countries", "", True, "open to applicants outside Europe"),
    ("Call for ideas", "Non-Member State entities may participate.", True, "open to applicants outside Europe"),
    ("宇宙ビジネスセミナー", "オンラインで開催します。", True, "written in Japanese"),
    ("ATV-4 to the International Space Station", "Lift-off on 5 June.", False, None),
    ("Call for tenders", "Economic operators from third countries are not eligible.", False, None),
    ("Kick-start call", "Open to companies in ESA Member States.", False, None),
])
def test_japan_relevance(title, text, flag, reason):
    assert japan_relevance(title, text, load_rules()) == (flag, reason)


# --- enrich --------------------------------------------------------------------------------

def test_enrich_fills_a_copy_and_structured_dates_win():
    a = announcement("Call for proposals on lunar logistics", "Closing date: 17 May 2025. Open to Japanese partners.")
    got = enrich(a, fetched_at=datetime(2025, 1, 10, 3, tzinfo=timezone.utc))
    assert (got.category, got.deadline, got.deadline_kind, got.status) == ("funding", date(2025, 5, 17), "date", "open")
    assert got.category_rule == "funding.call" and got.japan_relevant and got.japan_reason == "mentions Japan"
    assert a.category == "other" and a.deadline is None  # the input is untouched
    stated = replace(a, stated=Stated(deadline=date(2025, 6, 1), opening_date=date(2025, 2, 1)))
    structured = enrich(stated, fetched_at=datetime(2025, 1, 10, 3, tzinfo=timezone.utc))
    assert (structured.deadline, structured.opening_date, structured.status) == (date(2025, 6, 1), date(2025, 2, 1),
                                                                                 "forthcoming")


def test_enrich_reads_detail_text():
    a = announcement("Call for proposals on lunar logistics", "See the call page.")
    a = replace(a, detail_text="Opening date\n18 March 2025\nClosing date\n17 May 2025")
    got = enrich(a, fetched_at=datetime(2025, 1, 10, 3, tzinfo=timezone.utc))
    assert (got.opening_date, got.deadline, got.status) == (date(2025, 3, 18), date(2025, 5, 17), "forthcoming")


def test_labels_cover_every_category():
    for language in ("ja", "en"):
        assert set(CATEGORY_LABELS[language]) == set(CATEGORIES)
    assert CATEGORY_LABELS["ja"]["funding"] == "公募・資金提供"


# --- the held-out feed, through the real feed parser and normalizer ------------------------

def _heldout_announcements():
    from spacedigest.sources.feed import parse_feed
    from spacedigest.sources.normalize import normalize

    expected = json.loads((HELDOUT / "heldout_expected.json").read_text(encoding="utf-8"))
    fetched_at = datetime.fromisoformat(expected["fetched_at"])
    source = Source(id="heldout", organisation="Mixed", kind="feed", url="https://news.example.org/feed")
    body = (HELDOUT / "heldout.xml").read_bytes()
    parsed = parse_feed(body, url=source.url, content_type="application/rss+xml")
    announcements = normalize(parsed, source, fetched_at=fetched_at, base_url=source.url)
    return expected, [enrich(a, fetched_at=fetched_at) for a in announcements]


def test_heldout_feed_meets_the_targets():
    expected, enriched = _heldout_announcements()
    labels = expected["items"]
    assert len(enriched) == len(labels) >= 25
    category_ok = sum(a.category == labels[a.guid]["category"] for a in enriched)
    deadline_ok = sum(
        a.deadline == (date.fromisoformat(labels[a.guid]["deadline"]) if labels[a.guid]["deadline"] else None)
        and a.deadline_kind == labels[a.guid]["deadline_kind"]
        for a in enriched
    )
    false_closed = [a.guid for a in enriched if a.status == "closed" and labels[a.guid]["status"] != "closed"]
    japan_ok = sum(a.japan_relevant == labels[a.guid]["japan_relevant"] for a in enriched)
    n = len(enriched)
    assert category_ok / n >= 0.90, f"category accuracy {category_ok}/{n}"
    assert deadline_ok / n >= 0.95, f"deadline exact {deadline_ok}/{n}"
    assert false_closed == []
    assert japan_ok / n >= 0.90, f"Japan relevance {japan_ok}/{n}"


def test_heldout_feed_has_no_labelled_item():
    labelled = [json.loads(line) for line in (PROJECT_ROOT / "bench" / "data" / "labelled.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    labelled_titles = {row["title"].casefold() for row in labelled}
    _, enriched = _heldout_announcements()
    assert not [a.title for a in enriched if a.title.casefold() in labelled_titles]


def test_bench_meets_targets_on_labelled_set():
    run = subprocess.run([sys.executable, "bench/classify.py"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "category accuracy" in run.stdout and "false 'closed'         0" in run.stdout
