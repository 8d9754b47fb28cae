"""Hostile input and faults through the real `spacedigest` command (a representative subset of
bench/hostile.py, which runs every case and prints the table).

Each test starts real processes against a local HTTP server, a real aiosmtpd server and real DuckDB
files; the Prefect server is the session's shared one (`prefect_api` in conftest.py).
"""
from __future__ import annotations

import re

import pytest

from bench import bench_module
from tests.httpserver import MiB, gzip_bomb

pytestmark = pytest.mark.slow  # see tests/conftest.py: the fast tier leaves these out

hostile = bench_module("hostile")

# One collect run carries all of these next to the healthy source (one run keeps the suite fast).
COMBINED = ["malformed-xml", "charset-mismatch-xml", "charset-mismatch-http", "page-shift_jis", "page-euc-jp",
            "feed-windows-1251", "redirect-loop", "redirect-non-http", "no-id-link-date",
            "dates-future-and-1970", "duplicate-guids", "xss-rss", "xss-atom", "xss-html-page",
            "nul-bytes", "empty-200", "html-as-rss", "wrong-content-length"]


@pytest.fixture
def bench(prefect_api, http_server, tmp_path):
    hostile.PREFECT_API["url"] = prefect_api
    yield http_server, tmp_path
    hostile.PREFECT_API.clear()


def _assert_ok(row) -> None:
    assert not row.crashed, row.outcome
    assert (row.lost, row.dups, row.unsafe) == (0, 0, 0), (row.outcome, row.problems)
    assert row.ok, (row.outcome, row.problems)


def test_hostile_sources_fail_alone_and_nothing_unsafe_is_rendered(bench):
    server, workdir = bench
    cases = {c.name: c for c in hostile.feed_cases()}
    chosen = [cases[name] for name in COMBINED]
    # A gzip bomb a tenth the bench's size: still 5 times the cap, built in a fraction of the time.
    chosen.append(hostile.FeedCase("gzip-bomb", {"bomb": {"body": gzip_bomb(100 * MiB), "headers": {"Content-Encoding": "gzip"}}},
                                   [{"id": "case", "path": "bomb"}], {"case": 0},
                                   must_fail={"case": r"(?i)(MiB|MB|expand|decompress|cap)"}))
    chosen.append(hostile.FeedCase("long-title", {"feed": {"body": hostile.rss([hostile.rss_item(
        "Long " + "title " * 20_000, "http://l.example.org/1", "l1", summary="word " * 100_000)])}},
        [{"id": "case", "path": "feed"}], {"case": 1}))
    sources, expect, must_fail = [{"id": "healthy", "url": server.add("/all/healthy", body=hostile.healthy_feed("all"))}], {}, {}
    for case in chosen:
        urls = hostile._register(server, case)
        for s in case.sources:
            s = dict(s)
            own_id = s.pop("id")
            sid = re.sub(r"[^a-z0-9-]", "-", f"{case.name}--{own_id}".lower())
            sources.append({**s, "id": sid, "url": urls[s.pop("path")]})
            sources[-1].pop("path")
            expect[sid] = case.expect[own_id]
            if own_id in case.must_fail:
                must_fail[sid] = case.must_fail[own_id]
    catalog = hostile.write_catalog(workdir / "all.toml", sources)
    home = workdir / "home"
    run = hostile.cli(home, "collect", catalog=catalog, timeout=120)
    assert not run.crashed, run.text[-2000:]
    assert run.rc == 3, run.text[-2000:]
    got = hostile.present(home)
    assert got.get("healthy") == hostile.HEALTHY_COUNT
    for sid, want in expect.items():
        reason = hostile._failed_reason(run, sid)
        if sid in must_fail:
            assert reason and re.search(must_fail[sid], reason), f"{sid}: {reason!r}"
        else:
            assert reason is None, f"{sid} failed: {reason}"
        assert got.get(sid, 0) == want, f"{sid}: {got.get(sid, 0)} entries loaded, expected {want}"
    assert hostile.duplicates(home) == 0
    titles = {r[0] for r in hostile.query(home, "SELECT title FROM items")}
    for enc in ("shift_jis", "euc-jp"):
        assert set(t + " (page)" for t in hostile.TEXTS[enc]) <= titles, enc  # decoded, not mojibake
    assert set(hostile.TEXTS["windows-1251"]) <= titles
    assert max(len(t) for t in titles) <= 2000 and not any("\x00" in t for t in titles)

    digest = hostile.cli(home, "digest", catalog=catalog)
    assert digest.rc == 0 and not digest.crashed, digest.text
    html = "".join(p.read_text(encoding="utf-8") for p in (home / "reports").glob("*.html"))
    assert "call four" in html and "Unsafe link call 3" in html  # the hostile entries are shown ...
    assert hostile.scan_reports(home / "reports") == []  # ... without anything unsafe


def test_scanner_finds_what_it_must():
    """The unsafe-output scanner itself: a scanner that finds nothing proves nothing."""
    assert hostile.scan_html('<p><a href=" javascript:x()">a</a></p>')
    assert hostile.scan_html('<p><img src="x" onerror="x()"></p>')
    assert hostile.scan_html("<p><SCRIPT>x()</SCRIPT></p>")
    assert hostile.scan_html('<a href="data:text/html,x">d</a>')
    assert not hostile.scan_html('<p><a href="https://esa.int/x">ok</a> &lt;script&gt; onerror=</p>')
    assert hostile.scan_markdown("[x](javascript:alert(1))")
    assert not hostile.scan_markdown(r"\[x\](javascript:alert(1)) [ok](https://esa.int/)")
    assert hostile.scan_text("1. title\n    javascript:alert(1)\n")
    assert not hostile.scan_text("1. <script> as text\n    https://esa.int/x\n")


def test_subscriber_csv_with_injection_attempts(bench):
    server, workdir = bench
    _assert_ok(hostile.run_subscribers(server, workdir))


def test_smtp_drop_then_next_send_delivers_exactly_the_remainder(bench):
    server, workdir = bench
    _assert_ok(hostile.run_smtp_drop(server, workdir, count=8, drop_after=3, with_items=False))


def test_smtp_rejected_recipient_is_recorded_and_others_delivered(bench):
    server, workdir = bench
    _assert_ok(hostile.run_smtp_reject(server, workdir, count=4, with_items=False))


def test_old_schema_is_migrated_in_place(bench):
    server, workdir = bench
    _assert_ok(hostile.run_old_schema(server, workdir))


def test_unwritable_reports_folder_is_one_clear_error(bench):
    server, workdir = bench
    _assert_ok(hostile.run_unwritable_reports(server, workdir))


def test_warehouse_held_by_another_process(bench):
    server, workdir = bench
    _assert_ok(hostile.run_held_warehouse(server, workdir))


def test_sigkill_during_load_then_next_run_completes(bench):
    server, workdir = bench
    _assert_ok(hostile.run_kill_during_load(server, workdir, offset=0.0, entries=2000))
