"""Digest windows, selection and sections (reports.digest): pure, no clock, no database."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from spacedigest.reports.digest import (
    CATEGORY_LABELS,
    Window,
    build_digest,
    category_label,
    select_items,
    week_window,
    window_since,
)
from tests.factories import make_item

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)




# ------------------------------------------------------------------ ISO weeks in Tokyo time

def test_week_window_is_monday_to_monday_tokyo_in_utc():
    window = week_window("2024-W47")
    assert window.label == "2024-W47"
    # Monday 18 Nov 00:00 JST is Sunday 17 Nov 15:00 UTC
    assert window.start == utc(2024, 11, 17, 15)
    assert window.end == utc(2024, 11, 24, 15)
    assert window.start.tzinfo is not None and window.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "week, monday",
    [
        ("2026-W53", date(2026, 12, 28)),  # 2026 has 53 ISO weeks
        ("2027-W01", date(2027, 1, 4)),
        ("2025-W01", date(2024, 12, 30)),  # ISO week 1 of 2025 starts in 2024
        ("2020-W53", date(2020, 12, 28)),  # 2020 has 53 weeks too
    ],
)
def test_year_end_weeks(week, monday):
    window = week_window(week)
    assert window.start == datetime(monday.year, monday.month, monday.day, tzinfo=UTC) - timedelta(hours=9)
    assert window.end - window.start == timedelta(days=7)


def test_year_end_weeks_are_adjacent():
    assert week_window("2026-W53").end == week_window("2027-W01").start
    assert week_window("2024-W52").end == week_window("2025-W01").start


@pytest.mark.parametrize("bad", ["2024-47", "2024-W00", "2024-W54", "W47", "", "2024-W4x", "24-W47"])
def test_bad_week_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match="invalid week"):
        week_window(bad)


def test_week_53_in_a_52_week_year_names_the_range():
    with pytest.raises(ValueError, match="2025 has ISO weeks 01 to 52"):
        week_window("2025-W53")


def test_lower_case_and_compact_week_forms_are_accepted():
    assert week_window("2024w47") == week_window("2024-W47")


# ------------------------------------------------------------------ windows since the last cutoff

def test_first_digest_covers_last_seven_days_and_label_is_jst_cutoff():
    now = utc(2024, 11, 17, 23, 0)  # Monday 08:00 JST
    window = window_since(None, now)
    assert window.end == now and window.start == now - timedelta(days=7)
    assert window.label == "2024-11-18_0800"


def test_window_since_previous_cutoff_loses_nothing_after_a_missed_week():
    previous = utc(2024, 11, 3, 23, 0)
    window = window_since(previous, utc(2024, 11, 17, 23, 0))
    assert window.start == previous and (window.end - window.start).days == 14


def test_window_since_rejects_a_cutoff_in_the_future():
    with pytest.raises(ValueError, match="later than now"):
        window_since(utc(2024, 12, 1), utc(2024, 11, 1))


def test_naive_times_are_taken_as_utc():
    window = window_since(datetime(2024, 11, 10, 23, 0), datetime(2024, 11, 17, 23, 0))
    assert window.start == utc(2024, 11, 10, 23, 0)


# ------------------------------------------------------------------ selection

W47 = week_window("2024-W47")


def test_selection_uses_first_seen_half_open_window_in_jst():
    items = [
        make_item("sunday-before", first_seen_at=utc(2024, 11, 17, 14, 59)),  # Sun 23:59 JST: previous week
        make_item("monday-midnight", first_seen_at=utc(2024, 11, 17, 15, 0)),  # Mon 00:00 JST: in
        make_item("sunday-last", first_seen_at=utc(2024, 11, 24, 14, 59)),  # in
        make_item("next-monday", first_seen_at=utc(2024, 11, 24, 15, 0)),  # next week
    ]
    picked = [i.id for i in select_items(items, W47)]
    assert picked == ["monday-midnight", "sunday-last"]


def test_backlog_older_than_30_days_before_window_start_is_left_out():
    items = [
        make_item("old", published_at=W47.start - timedelta(days=31)),
        make_item("edge", published_at=W47.start - timedelta(days=30)),
        make_item("recent", published_at=W47.start - timedelta(days=29)),
    ]
    assert [i.id for i in select_items(items, W47)] == ["edge", "recent"]
    assert [i.id for i in select_items(items, W47, backlog_days=60)] == ["old", "edge", "recent"]


def test_old_but_still_open_call_first_seen_now_is_kept():
    old = W47.start - timedelta(days=90)
    items = [
        make_item("open-call", published_at=old, category="funding", status="open",
                  deadline=date(2025, 2, 1), deadline_kind="date"),
        make_item("rolling", published_at=old, category="incubation", status="open", deadline_kind="rolling"),
        make_item("closed-call", published_at=old, category="funding", status="closed",
                  deadline=date(2024, 9, 1), deadline_kind="date"),
        make_item("stale-open", published_at=old, category="funding", status="open",
                  deadline=date(2024, 11, 1), deadline_kind="date"),  # status not yet refreshed
    ]
    assert [i.id for i in select_items(items, W47)] == ["open-call", "rolling"]


def test_open_call_seen_in_an_earlier_week_is_not_repeated_unless_its_deadline_changed():
    earlier = W47.start - timedelta(days=10)
    items = [
        make_item("repeat", first_seen_at=earlier, published_at=earlier, status="open",
                  category="funding", deadline=date(2024, 12, 1), deadline_kind="date"),
        make_item("moved", first_seen_at=earlier - timedelta(days=100), published_at=earlier - timedelta(days=100),
                  status="open", category="funding", deadline=date(2025, 1, 15), deadline_kind="date",
                  deadline_changed=True, previous_deadline=date(2024, 12, 1)),
    ]
    assert [i.id for i in select_items(items, W47)] == ["moved"]


def test_organisation_and_category_filters():
    items = [
        make_item("esa-fund", organisation="ESA", category="funding"),
        make_item("esa-event", organisation="ESA", category="event"),
        make_item("cnes-fund", organisation="CNES", category="funding"),
        make_item("harwell-other", organisation="Harwell", category="other"),
    ]
    ids = lambda **kw: [i.id for i in select_items(items, W47, **kw)]  # noqa: E731
    assert ids() == ["esa-fund", "esa-event", "cnes-fund", "harwell-other"]
    assert ids(organisations=["esa"]) == ["esa-fund", "esa-event"]  # case-insensitive
    assert ids(categories=["funding"]) == ["esa-fund", "cnes-fund"]
    assert ids(organisations=["CNES", "Harwell"], categories=["funding", "other"]) == ["cnes-fund", "harwell-other"]
    assert ids(organisations=[], categories=[]) == ids()


def test_duplicate_input_rows_are_selected_once():
    item = make_item("twice")
    assert [i.id for i in select_items([item, item], W47)] == ["twice"]


# ------------------------------------------------------------------ sections

def test_sections_order_content_and_sorting():
    today = date(2024, 11, 25)
    items = [
        make_item("news-old", category="other", published_at=utc(2024, 11, 18, 1)),
        make_item("news-new", category="other", published_at=utc(2024, 11, 22, 1)),
        make_item("event", category="event"),
        make_item("partner", category="partnership"),
        make_item("tender", category="tender", published_at=utc(2024, 11, 20, 1)),
        make_item("programme", category="programme", published_at=utc(2024, 11, 21, 1)),
        make_item("incubation", category="incubation", status="open", deadline_kind="rolling",
                  published_at=utc(2024, 11, 19, 1)),
        make_item("fund-far", category="funding", status="open", deadline=today + timedelta(days=31),
                  deadline_kind="date", published_at=utc(2024, 11, 23, 1)),
        make_item("close-late", category="funding", status="open", deadline=today + timedelta(days=30),
                  deadline_kind="date"),
        make_item("close-soon", category="tender", status="open", deadline=today + timedelta(days=3),
                  deadline_kind="date"),
        make_item("close-today", category="incubation", status="open", deadline=today, deadline_kind="date"),
        make_item("closed", category="funding", status="closed", deadline=today - timedelta(days=1),
                  deadline_kind="date", published_at=utc(2024, 11, 17, 16)),
        make_item("jp-late", category="funding", status="open", deadline=today + timedelta(days=60),
                  deadline_kind="date", eligibility="international"),
        make_item("jp-soon", category="tender", status="open", deadline=today + timedelta(days=5),
                  deadline_kind="date", eligibility="japan"),
        make_item("jp-rolling", category="incubation", status="open", deadline_kind="rolling", eligibility="japan"),
        make_item("jp-restricted", category="funding", status="open", deadline=today + timedelta(days=6),
                  deadline_kind="date", eligibility="restricted"),
        make_item("jp-closed", category="funding", status="closed", deadline=today - timedelta(days=3),
                  deadline_kind="date", eligibility="japan"),
        make_item("event-later", category="event", event_date=today + timedelta(days=20)),
        make_item("event-sooner", category="event", event_date=today + timedelta(days=2)),
        # registration closes in 3 days: still an event, not a call closing soon
        make_item("event-register", category="event", status="open", deadline=today + timedelta(days=3),
                  deadline_kind="date", event_date=today + timedelta(days=10)),
    ]
    digest = build_digest(items, W47, lang="ja", generated_at=utc(2024, 11, 24, 23), today=today)
    assert [s.key for s in digest.sections] == ["may_apply", "closing_soon", "new_calls", "events", "partnership",
                                                "news", "closed"]
    assert [s.title for s in digest.sections][:2] == ["日本企業が応募できる公募", "締切が近い公募"]
    by_key = {s.key: [i.id for i in s.items] for s in digest.sections}
    # open calls a Japanese company may apply to come first, soonest deadline first, rolling last
    assert by_key["may_apply"] == ["jp-soon", "jp-late", "jp-rolling"]
    assert by_key["closing_soon"] == ["close-today", "close-soon", "jp-restricted", "close-late"]  # soonest first
    assert by_key["new_calls"] == ["fund-far", "tender", "incubation"]  # newest first; no news, no closed call
    assert by_key["events"] == ["event-sooner", "event-register", "event-later", "event"]  # by the day they take place
    assert by_key["partnership"] == ["partner"]
    assert by_key["news"] == ["news-new", "programme", "news-old"]  # programme news last, with the other news
    assert by_key["closed"] == ["jp-closed", "closed"]  # a closed call is never among the new calls
    assert digest.item_count == len(items)


def test_english_digest_mirrors_sections_and_today_defaults_to_generation_day_in_jst():
    items = [make_item("soon", category="funding", status="open", deadline=date(2024, 12, 25), deadline_kind="date")]
    # 2024-11-25 14:59 UTC is 23:59 on the 25th in Tokyo; 30 days later is 25 December.
    digest = build_digest(items, W47, lang="en", generated_at=utc(2024, 11, 25, 14, 59))
    assert digest.today == date(2024, 11, 25)
    assert [(s.key, s.title) for s in digest.sections] == [("closing_soon", "Calls closing soon")]
    # 16:00 UTC is already the 26th in Tokyo: 29 days left, still closing soon; generated on 27th JST: not.
    assert build_digest(items, W47, lang="en", generated_at=utc(2024, 11, 26, 16)).sections[0].key == "closing_soon"
    assert build_digest(items, W47, lang="en", generated_at=utc(2024, 11, 24, 14)).sections[0].key == "new_calls"


def test_empty_digest_has_no_sections_and_unknown_language_is_refused():
    digest = build_digest([], W47, lang="ja", generated_at=utc(2024, 11, 24, 23))
    assert digest.sections == [] and digest.item_count == 0
    with pytest.raises(ValueError, match="unsupported digest language 'fr'"):
        build_digest([], W47, lang="fr", generated_at=utc(2024, 11, 24, 23))


def test_unknown_category_lands_in_other_news():
    digest = build_digest([make_item("x", category="weird")], W47, lang="en", generated_at=utc(2024, 11, 24, 23))
    assert [s.key for s in digest.sections] == ["news"]


def test_category_labels_exist_for_every_category_in_both_languages():
    for lang in ("ja", "en"):
        for key in ("funding", "tender", "incubation", "partnership", "event", "programme", "other"):
            assert CATEGORY_LABELS[lang][key]
    assert category_label("tender", "ja").startswith("入札")
    assert category_label("unheard-of", "en") == CATEGORY_LABELS["en"]["other"]


def test_window_is_a_plain_record():
    window = Window(utc(2024, 1, 1), utc(2024, 1, 8), "x")
    assert select_items([make_item("a", first_seen_at=utc(2024, 1, 2), published_at=utc(2024, 1, 2))], window)
