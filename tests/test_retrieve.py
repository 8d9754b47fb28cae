"""sources.retrieve against a real local HTTP server (tests/httpserver.py)."""
from __future__ import annotations

import gzip
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from spacedigest.sources.models import Validators
from spacedigest.sources.retrieve import DEFAULT_POLICY, FetchPolicy, HostLimiter, fetch, new_session
from tests.httpserver import MiB, FixtureServer, free_port, gzip_bomb, http_date

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
# Small limits keep every test well under a few seconds.
FAST = FetchPolicy(connect_timeout=0.5, read_timeout=1.0, deadline=1.5, backoff=0.05, max_retry_after=2.0)


# --- success, conditional GET -------------------------------------------------------------


def test_200_returns_body_and_metadata(http_server):
    url = http_server.add("/feed.xml", body=FEED, etag='"v1"', last_modified="Mon, 18 Nov 2024 09:00:00 GMT")
    got = fetch("esa-topnews", url, policy=FAST)
    assert got.status == "ok" and got.ok
    assert got.body == FEED and got.bytes == len(FEED)
    assert got.http_status == 200 and got.final_url == url
    assert got.etag == '"v1"' and got.last_modified == "Mon, 18 Nov 2024 09:00:00 GMT"
    assert got.content_type == "application/rss+xml"
    assert got.attempts == 1 and got.error is None and got.permanent_redirect is None
    assert got.source_id == "esa-topnews" and got.fetched_at.tzinfo is not None
    assert got.duration_s >= 0


def test_user_agent_names_project_and_contact(http_server):
    url = http_server.add("/feed.xml", body=FEED)
    fetch("s", url, policy=FAST)
    agent = http_server.requests[-1].headers["User-Agent"]
    assert agent.startswith("spacedigest/") and "+https://" in agent
    assert "gzip" in http_server.requests[-1].headers["Accept-Encoding"]


def test_second_fetch_with_stored_validators_is_not_modified(http_server):
    url = http_server.add("/feed.xml", body=FEED, etag='"v1"', last_modified="Mon, 18 Nov 2024 09:00:00 GMT")
    first = fetch("s", url, policy=FAST)
    second = fetch("s", url, Validators(etag=first.etag, last_modified=first.last_modified), policy=FAST)
    assert second.status == "not_modified" and second.ok
    assert second.http_status == 304 and second.body is None and second.bytes == 0
    sent = http_server.requests[-1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Mon, 18 Nov 2024 09:00:00 GMT"


def test_last_modified_alone_gives_304_and_changed_content_gives_200(http_server):
    stamp = http_date(1_700_000_000)
    url = http_server.add("/feed.xml", body=FEED, last_modified=stamp)
    assert fetch("s", url, Validators(last_modified=stamp), policy=FAST).status == "not_modified"
    http_server.set("/feed.xml", body=FEED + b" ", last_modified=http_date(1_700_000_600))
    changed = fetch("s", url, Validators(last_modified=stamp), policy=FAST)
    assert changed.status == "ok" and changed.body == FEED + b" "


def test_empty_200_is_ok_with_empty_body(http_server):
    got = fetch("s", http_server.add("/empty", body=b""), policy=FAST)
    assert got.status == "ok" and got.body == b"" and got.bytes == 0


def test_head_and_post(http_server):
    url = http_server.add("/api", body=b'{"results": []}', content_type="application/json")
    head = fetch("s", url, policy=FAST, method="HEAD")
    assert head.status == "ok" and not head.body
    post = fetch("s", url, policy=FAST, method="POST", data=b'{"q": "space"}',
                 headers={"Content-Type": "application/json"})
    assert post.body == b'{"results": []}'
    assert http_server.requests[-1].method == "POST" and http_server.requests[-1].body == b'{"q": "space"}'


# --- HTTP errors and retries --------------------------------------------------------------


def test_404_is_an_error_without_retry(http_server):
    got = fetch("s", http_server.url("/missing"), policy=FAST)
    assert got.status == "error" and not got.ok
    assert got.error == "HTTP 404 Not Found" and got.http_status == 404
    assert got.attempts == 1 and http_server.hits["/missing"] == 1


def test_410_gone_keeps_status_for_health_logic(http_server):
    got = fetch("s", http_server.add("/gone", status=410), policy=FAST)
    assert got.error == "HTTP 410 Gone" and got.http_status == 410


def test_500_then_200_is_retried(http_server):
    url = http_server.add("/flaky", sequence=[{"status": 500}, {"body": FEED}])
    got = fetch("s", url, policy=FAST)
    assert got.status == "ok" and got.body == FEED
    assert got.attempts == 2 and http_server.hits["/flaky"] == 2


def test_persistent_503_gives_up_after_retries(http_server):
    url = http_server.add("/down", status=503)
    got = fetch("s", url, policy=FAST)
    assert got.status == "error" and got.http_status == 503
    assert got.error == "HTTP 503 Service Unavailable (after 3 attempts)"
    assert got.attempts == 3 == http_server.hits["/down"]


def test_429_honours_retry_after_seconds(http_server):
    url = http_server.add("/busy", sequence=[{"status": 429, "headers": {"Retry-After": "1"}}, {"body": FEED}])
    started = time.monotonic()
    got = fetch("s", url, policy=replace(FAST, deadline=3.0))
    waited = time.monotonic() - started
    assert got.status == "ok" and got.attempts == 2
    assert 1.0 <= waited < 2.0


def test_503_honours_retry_after_http_date(http_server):
    later = http_date(time.time() + 2)
    url = http_server.add("/busy", sequence=[{"status": 503, "headers": {"Retry-After": later}}, {"body": FEED}])
    started = time.monotonic()
    got = fetch("s", url, policy=replace(FAST, deadline=4.0))
    assert got.status == "ok" and got.attempts == 2
    assert time.monotonic() - started >= 1.0  # an HTTP-date has one-second resolution


def test_retry_after_beyond_limit_gives_up_at_once(http_server):
    url = http_server.add("/busy", status=429, headers={"Retry-After": "3600"})
    started = time.monotonic()
    got = fetch("s", url, policy=FAST)
    assert time.monotonic() - started < 0.5
    assert got.error == "HTTP 429 Too Many Requests (Retry-After 3600 s is beyond the 2 s limit)"
    assert got.attempts == 1 and got.http_status == 429


def test_read_timeout_is_retried(http_server):
    url = http_server.add("/sleepy", body=FEED, sequence=[{"delay": 1.0}, {}])
    got = fetch("s", url, policy=replace(FAST, read_timeout=0.3, deadline=3.0))
    assert got.status == "ok" and got.body == FEED and got.attempts == 2


# --- deadline -----------------------------------------------------------------------------


def test_slow_response_cut_at_total_deadline(http_server):
    url = http_server.add("/slow", body=FEED, delay=5.0)
    started = time.monotonic()
    got = fetch("s", url, policy=replace(FAST, read_timeout=10.0))
    elapsed = time.monotonic() - started
    assert got.status == "error" and got.error == "timed out: total deadline 1.5 s exceeded"
    assert 1.4 <= elapsed < 2.0


def test_dripping_server_cut_at_total_deadline(http_server):
    url = http_server.add("/drip", body=b"x" * 1000, drip_interval=0.1)
    started = time.monotonic()
    got = fetch("s", url, policy=replace(FAST, deadline=1.0))
    elapsed = time.monotonic() - started
    assert got.error == "timed out: total deadline 1 s exceeded"
    assert got.body is None and 0.9 <= elapsed < 1.4


def test_retries_stop_within_the_deadline(http_server):
    url = http_server.add("/down", status=500)
    started = time.monotonic()
    got = fetch("s", url, policy=replace(FAST, retries=50, backoff=0.2, deadline=1.0))
    assert time.monotonic() - started < 1.2
    assert got.status == "error" and "no time left to retry within the 1 s deadline" in got.error


# --- redirects ----------------------------------------------------------------------------


def test_permanent_redirect_chain_is_recorded(http_server):
    final = http_server.add("/new/feed.xml", body=FEED)
    http_server.redirect("/old", "/older", status=301)  # relative Location
    http_server.redirect("/older", final, status=308)
    got = fetch("s", http_server.url("/old"), policy=FAST)
    assert got.status == "ok" and got.body == FEED
    assert got.final_url == final and got.permanent_redirect == final


def test_temporary_redirect_is_followed_not_recorded(http_server):
    final = http_server.add("/feed.xml", body=FEED)
    http_server.redirect("/a", "/b", status=301)
    http_server.redirect("/b", final, status=302)
    got = fetch("s", http_server.url("/a"), policy=FAST)
    assert got.status == "ok" and got.final_url == final and got.permanent_redirect is None


def test_redirect_loop_is_refused(http_server):
    http_server.redirect("/a", "/b")
    http_server.redirect("/b", "/a")
    got = fetch("s", http_server.url("/a"), policy=FAST)
    assert got.status == "error" and got.error.startswith("redirect loop")
    assert http_server.hits["/a"] == 1 and http_server.hits["/b"] == 1


def test_too_many_redirects(http_server):
    for hop in range(8):
        http_server.redirect(f"/r{hop}", f"/r{hop + 1}", status=302)
    got = fetch("s", http_server.url("/r0"), policy=FAST)
    assert got.error == "too many redirects (more than 5)"
    assert http_server.hits["/r6"] == 0


def test_redirect_to_non_http_scheme_is_refused(http_server):
    http_server.redirect("/ftp", "ftp://files.example.org/feed.xml")
    got = fetch("s", http_server.url("/ftp"), policy=FAST)
    assert got.error == "redirect to non-http URL 'ftp://files.example.org/feed.xml' refused"


def test_non_http_source_url_is_refused_without_network():
    got = fetch("s", "file:///etc/passwd", policy=FAST)
    assert got.status == "error" and got.error == "not an http(s) URL: 'file:///etc/passwd'"
    assert got.attempts == 0


# --- size caps and compression ------------------------------------------------------------


def test_declared_length_over_cap_is_refused_before_reading(http_server):
    url = http_server.add("/big", body=b"x" * 5000)
    got = fetch("s", url, policy=replace(FAST, max_bytes=1000))
    assert got.error == "body exceeds 1000 bytes cap (Content-Length 5000)" and got.body is None


def test_undeclared_body_over_cap_is_cut_while_reading(http_server):
    def no_length(raw):
        raw.close_after(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 50_000)

    got = fetch("s", http_server.add("/big", handler=no_length), policy=replace(FAST, max_bytes=4 * 1024))
    assert got.error == "body exceeds 4 KiB cap" and got.http_status == 200


def test_gzip_body_is_decoded(http_server):
    url = http_server.add("/gz", body=FEED * 100, gzip=True)
    got = fetch("s", url, policy=FAST)
    assert got.status == "ok" and got.body == FEED * 100 and got.bytes == len(FEED) * 100


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decoded(http_server, wbits):
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = compressor.compress(FEED) + compressor.flush()
    url = http_server.add("/deflate", body=body, headers={"Content-Encoding": "deflate"})
    assert fetch("s", url, policy=FAST).body == FEED


def test_gzip_bomb_is_stopped_at_decompressed_cap(http_server):
    bomb = gzip_bomb(100 * MiB)
    assert len(bomb) < 200 * 1024
    url = http_server.add("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    started = time.monotonic()
    got = fetch("s", url, policy=replace(DEFAULT_POLICY, deadline=10.0))
    assert got.error == "body exceeds 20 MiB cap (decompressed)" and got.body is None
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("size, status", [(4096, "ok"), (4097, "error")])
def test_decompressed_cap_is_exact(http_server, size, status):
    url = http_server.add("/gz", body=b"a" * size, gzip=True)
    got = fetch("s", url, policy=replace(FAST, max_bytes=4096))
    assert got.status == status
    assert got.body == (b"a" * size if status == "ok" else None)


def test_concatenated_gzip_members_are_all_decoded(http_server):
    body = gzip.compress(b"first,", mtime=0) + gzip.compress(b"second", mtime=0)
    url = http_server.add("/gz", body=body, headers={"Content-Encoding": "gzip"})
    assert fetch("s", url, policy=FAST).body == b"first,second"


def test_unsupported_content_encoding_is_reported(http_server):
    url = http_server.add("/br", body=b"\x1b\x00", headers={"Content-Encoding": "br"})
    assert fetch("s", url, policy=FAST).error == "unsupported Content-Encoding 'br'"


def test_corrupt_gzip_is_reported(http_server):
    url = http_server.add("/bad", body=b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    got = fetch("s", url, policy=FAST)
    assert got.status == "error" and got.error.startswith("corrupt compressed body")


def test_short_body_is_retried_then_reported(http_server):
    def lying_length(raw):
        raw.close_after(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nonly a few bytes")

    got = fetch("s", http_server.add("/short", handler=lying_length), policy=FAST)
    assert got.status == "error" and got.attempts == 3
    assert got.error == "connection dropped by the server before the response was complete (after 3 attempts)"


# --- unreachable hosts --------------------------------------------------------------------


def test_connection_refused():
    got = fetch("s", f"http://127.0.0.1:{free_port()}/feed", policy=FAST)
    assert got.status == "error" and got.error == "unreachable: connection refused (after 3 attempts)"
    assert got.http_status is None


def test_unresolvable_host_is_not_retried():
    got = fetch("s", "http://no-such-host.invalid/feed", policy=FAST)
    assert got.error == "unreachable: cannot resolve host no-such-host.invalid" and got.attempts == 1


# --- concurrency --------------------------------------------------------------------------


def test_host_limiter_bounds_concurrency_per_host(http_server):
    url = http_server.add("/feed.xml", body=FEED, delay=0.15)
    limiter = HostLimiter(per_host=2)
    session = new_session(FAST)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: fetch(f"s{i}", url, policy=FAST, session=session, limiter=limiter),
                                range(8)))
    assert all(r.status == "ok" for r in results)
    assert http_server.max_in_flight == 2


def test_without_limiter_the_same_load_runs_wider(http_server):
    """Control for the test above: the bound comes from the limiter, not from the server."""
    url = http_server.add("/feed.xml", body=FEED, delay=0.15)
    session = new_session(FAST)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: fetch(f"s{i}", url, policy=FAST, session=session), range(8)))
    assert http_server.max_in_flight > 2


def test_time_queued_for_a_host_slot_is_not_charged_to_the_deadline(http_server):
    url = http_server.add("/feed.xml", body=FEED, delay=0.3)
    limiter = HostLimiter(per_host=1)
    policy = replace(FAST, deadline=0.8)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: fetch(f"s{i}", url, policy=policy, limiter=limiter), range(4)))
    assert [r.status for r in results] == ["ok"] * 4
    assert all(r.duration_s < 0.8 for r in results)


def test_limiter_keys_by_host_name():
    limiter = HostLimiter(per_host=1)
    entered = threading.Event()
    with limiter.slot("https://www.esa.int/a"):
        def other_host():
            with limiter.slot("https://cnes.fr/b"):
                entered.set()

        thread = threading.Thread(target=other_host)
        thread.start()
        assert entered.wait(1.0), "a busy host must not block another host"
        thread.join()


# --- the fixture server itself ------------------------------------------------------------


def test_server_stops_fast_with_a_drip_in_flight():
    server = FixtureServer().start()
    url = server.add("/drip", body=b"x" * 1000, drip_interval=0.5)
    results = []
    worker = threading.Thread(target=lambda: results.append(fetch("s", url, policy=replace(FAST, deadline=30.0))))
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    worker.join(5)
    assert results and results[0].status == "error"


def test_server_sequence_repeats_last_and_unknown_paths_are_404(http_server):
    http_server.add("/seq", body=b"base", sequence=[{"status": 500}, {"body": b"two"}])
    session = new_session(FAST)
    got = [session.get(http_server.url("/seq")) for _ in range(3)]
    assert [r.status_code for r in got] == [500, 200, 200]
    assert [r.content for r in got[1:]] == [b"two", b"two"]
    assert session.get(http_server.url("/nowhere")).status_code == 404
    assert http_server.hits["/seq"] == 3 and http_server.hits["/nowhere"] == 1
