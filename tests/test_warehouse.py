"""The warehouse on real DuckDB files: migrations, idempotent loading, identity, revisions, staff copy."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import duckdb
import pytest

from spacedigest.sources.models import Announcement
from spacedigest.warehouse import db, load, query

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def ann(source="feed-a", key="k1", title="ESA opens call for space start-ups", url="https://www.esa.int/a",
        guid=None, summary="Apply by 15 January 2027.", **kw) -> Announcement:
    return Announcement(
        source_id=source, organisation="ESA", entry_key=key, title=title, url=url, guid=guid, summary=summary,
        published_at=kw.pop("published_at", NOW - timedelta(days=1)), published_estimated=False, language="en",
        content_hash=kw.pop("content_hash", f"{title}|{summary}|{url}"), **kw,
    )


def count(con, sql):
    return con.execute(sql).fetchall()[0][0]


def test_migrations_create_every_table_and_record_the_version(tmp_path):
    with db.writer(tmp_path) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"sources", "fetches", "items", "item_sources", "item_revisions", "runs", "digests",
                "subscribers", "deliveries", "open_calls", "upcoming_deadlines", "new_this_week",
                "source_health"} <= tables
        assert db.schema_version(con) == max(v for v, _, _ in db.migrations())
        assert db.migrate(con) == []  # nothing left to apply


def test_an_older_warehouse_is_upgraded_in_place_without_loss(tmp_path):
    version, name, sql = db.migrations()[0]
    con = duckdb.connect(str(db.warehouse_path(tmp_path)))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())")
    con.execute(sql)
    con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
    con.close()
    with db.writer(tmp_path) as con:
        load.load_announcements(con, [ann()], seen_at=NOW)
    with db.writer(tmp_path) as con:
        assert db.schema_version(con) == max(v for v, _, _ in db.migrations())
        assert count(con, "SELECT count(*) FROM items") == 1
        assert count(con, "SELECT count(*) FROM open_calls") >= 0  # the views exist


def test_loading_twice_adds_nothing(tmp_path):
    batch = [ann(key=f"k{i}", title=f"Call number {i} for space start-ups", url=f"https://www.esa.int/{i}")
             for i in range(50)]
    with db.writer(tmp_path) as con:
        first = load.load_announcements(con, batch, seen_at=NOW)
        second = load.load_announcements(con, batch, seen_at=NOW + timedelta(hours=1))
        assert first.total_new == 50 and second.total_new == 0 and second.edited == 0
        assert count(con, "SELECT count(*) FROM items") == 50
        assert count(con, "SELECT count(*) FROM item_sources") == 50
        assert count(con, "SELECT count(*) FROM item_revisions") == 0


def test_one_announcement_in_two_feeds_is_one_item_with_two_sources(tmp_path):
    a = ann(source="feed-a", key="a1", guid="guid-a")
    b = ann(source="feed-b", key="b1", guid="guid-b")  # same URL and title, other guid
    c = ann(source="feed-c", key="c1", guid="guid-a", url="https://mirror.example/x", title="Other words")  # same guid
    with db.writer(tmp_path) as con:
        stats = load.load_announcements(con, [a, b], seen_at=NOW)
        load.load_announcements(con, [c], seen_at=NOW)
        assert stats.total_new == 1
        assert count(con, "SELECT count(*) FROM items") == 1
        assert count(con, "SELECT count(DISTINCT source_id) FROM item_sources") == 3


def test_a_repost_with_a_new_guid_and_link_from_another_source_is_the_same_item(tmp_path):
    a = ann(source="esa-news", key="a", title="ESA and JAXA sign agreement on lunar exploration", url="https://esa.int/x")
    b = ann(source="jaxa-press", key="b", title="ESA and JAXA sign agreement on lunar exploration!",
            url="https://jaxa.jp/y", published_at=NOW - timedelta(hours=30))
    with db.writer(tmp_path) as con:
        load.load_announcements(con, [a], seen_at=NOW)
        load.load_announcements(con, [b], seen_at=NOW)
        assert count(con, "SELECT count(*) FROM items") == 1
        assert count(con, "SELECT count(*) FROM item_sources") == 2


def test_distinct_entries_sharing_a_link_stay_distinct(tmp_path):
    changelog = [ann(key=f"g{i}", guid=f"g{i}", title=f"Release {i}", url="https://example.org/changelog")
                 for i in range(5)]
    with db.writer(tmp_path) as con:
        load.load_announcements(con, changelog, seen_at=NOW)
        assert count(con, "SELECT count(*) FROM items") == 5


def test_an_edit_updates_the_item_and_adds_a_revision(tmp_path):
    original = ann(deadline=date(2027, 1, 15), deadline_kind="date")
    edited = replace(original, summary="Deadline extended to 31 January 2027.", content_hash="v2",
                     deadline=date(2027, 1, 31))
    with db.writer(tmp_path) as con:
        load.load_announcements(con, [original], seen_at=NOW)
        stats = load.load_announcements(con, [edited], seen_at=NOW + timedelta(days=1))
        assert stats.edited == 1 and stats.total_new == 0
        assert count(con, "SELECT count(*) FROM items") == 1
        row = con.execute("SELECT deadline, summary FROM items").fetchall()[0]
        assert row == (date(2027, 1, 31), "Deadline extended to 31 January 2027.")
        rev = con.execute("SELECT old_deadline, new_deadline, changed_fields FROM item_revisions").fetchall()
        assert rev == [(date(2027, 1, 15), date(2027, 1, 31), "summary,deadline")]


def test_an_interrupted_load_leaves_nothing_half_written(tmp_path):
    good = [ann(key=f"k{i}", title=f"Call {i} for proposals in space", url=f"https://e.int/{i}") for i in range(10)]
    broken = good + [replace(good[0], entry_key="bad", title=None)]  # NOT NULL violation mid-batch
    with db.writer(tmp_path) as con:
        with pytest.raises(duckdb.Error):
            load.load_announcements(con, broken, seen_at=NOW)
        assert count(con, "SELECT count(*) FROM items") == 0
        assert load.load_announcements(con, good, seen_at=NOW).total_new == 10


def test_staff_copy_is_published_and_queries_are_read_only(tmp_path):
    with db.writer(tmp_path) as con:
        load.load_announcements(con, [ann()], seen_at=NOW)
    assert db.staff_path(tmp_path).exists()
    out = query.run(tmp_path, "SELECT title FROM items", fmt="json")
    assert '"ESA opens call for space start-ups"' in out
    with pytest.raises(query.QueryError, match="read-only"):
        query.run(tmp_path, "DELETE FROM items")
    with pytest.raises(query.QueryError, match="tables and views: .*items"):
        query.run(tmp_path, "SELECT * FROM itemz")


def test_a_staff_session_left_open_never_blocks_a_load(tmp_path):
    """Another process keeps the staff copy open; the writer loads and publishes regardless."""
    with db.writer(tmp_path) as con:
        load.load_announcements(con, [ann()], seen_at=NOW)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "c.execute('select count(*) from items').fetchall(); print('open', flush=True); time.sleep(30)",
         str(db.staff_path(tmp_path))],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with db.writer(tmp_path) as con:
            load.load_announcements(con, [ann(key="k2", title="Second call for start-ups", url="https://e.int/2")],
                                    seen_at=NOW)
        assert '"n": 2' in query.run(tmp_path, "SELECT count(*) AS n FROM items", fmt="json")
    finally:
        holder.kill()
        holder.wait()


def test_items_deleted_by_hand_come_back_when_loaded_again(tmp_path):
    batch = [ann(key=f"k{i}", title=f"Call {i} for proposals in space", url=f"https://e.int/{i}", guid=f"g{i}")
             for i in range(5)]
    with db.writer(tmp_path) as con:
        load.load_announcements(con, batch, seen_at=NOW)
        con.execute("DELETE FROM items")  # item_sources left behind, as a hurried DELETE would
        stats = load.load_announcements(con, batch, seen_at=NOW)
        assert stats.total_new == 5
        assert count(con, "SELECT count(*) FROM items") == 5
        assert count(con, "SELECT count(*) FROM item_sources") == 5
        assert count(con, "SELECT count(*) FROM item_sources WHERE item_id NOT IN (SELECT id FROM items)") == 0


def test_a_migration_from_a_parallel_branch_applies_after_a_higher_one(tmp_path):
    """005 (subscribers' side) landed after 007 (translations): a warehouse already at 007 gets 005 too."""
    import duckdb

    from spacedigest.warehouse import db

    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())")
    for version, name, sql in db.migrations():
        if version != 5:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
    con.close()
    with db.writer(tmp_path) as con:
        versions = [r[0] for r in con.execute("select version from schema_migrations order by 1").fetchall()]
        assert con.execute("select count(*) from consents").fetchall() == [(0,)]
    assert 5 in versions and db.staff_is_current(tmp_path)
