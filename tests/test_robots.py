"""sources.robots against a real local HTTP server."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from spacedigest.sources.retrieve import FetchPolicy, new_session
from spacedigest.sources.robots import RobotsCache
from tests.httpserver import free_port

FAST = FetchPolicy(connect_timeout=0.5, read_timeout=1.0, deadline=1.5, backoff=0.05)

ROBOTS = b"""\
User-agent: *
Disallow: /private/

User-agent: BadBot
Disallow: /

User-agent: spacedigest
Disallow: /calls/drafts/
"""


def test_allow_and_disallow(http_server):
    http_server.add("/robots.txt", body=ROBOTS, content_type="text/plain")
    robots = RobotsCache(policy=FAST)
    assert robots.allowed(http_server.url("/news/")) == (True, None)
    assert robots.allowed(http_server.url("/calls/open")) == (True, None)
    allowed, reason = robots.allowed(http_server.url("/calls/drafts/x"))
    assert not allowed
    assert reason == f"disallowed by robots.txt at {http_server.url('/robots.txt')} for spacedigest"


def test_our_own_group_replaces_the_wildcard_group(http_server):
    """RFC 9309: a crawler obeys the group naming it, not also the `*` group."""
    http_server.add("/robots.txt", body=ROBOTS, content_type="text/plain")
    assert RobotsCache(policy=FAST).allowed(http_server.url("/private/page"))[0] is True
    # ... while a crawler without its own group gets the `*` rules.
    other = RobotsCache(policy=FetchPolicy(user_agent="otherbot/1.0", deadline=1.5))
    assert other.allowed(http_server.url("/private/page"))[0] is False


def test_disallow_all(http_server):
    http_server.add("/robots.txt", body=b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    allowed, reason = RobotsCache(policy=FAST).allowed(http_server.url("/anything"))
    assert allowed is False and reason.startswith("disallowed by robots.txt")


def test_missing_robots_txt_allows_everything(http_server):
    assert RobotsCache(policy=FAST).allowed(http_server.url("/page")) == (True, None)
    assert http_server.hits["/robots.txt"] == 1  # the 404 was asked for


def test_server_error_allows_with_a_note(http_server):
    http_server.add("/robots.txt", status=503)
    allowed, note = RobotsCache(policy=FAST).allowed(http_server.url("/page"))
    assert allowed is True
    assert note.startswith(f"robots.txt at {http_server.url('/robots.txt')} unavailable (HTTP 503")
    assert note.endswith("treated as allowing all")


def test_unreachable_host_allows_with_a_note():
    allowed, note = RobotsCache(policy=FAST).allowed(f"http://127.0.0.1:{free_port()}/page")
    assert allowed is True and "unreachable: connection refused" in note


def test_fetched_once_per_host_with_our_user_agent(http_server):
    http_server.add("/robots.txt", body=ROBOTS, content_type="text/plain", delay=0.2)
    robots = RobotsCache(session=new_session(FAST), policy=FAST)
    paths = [f"/news/{i}" for i in range(20)] + ["/calls/drafts/a"] * 5
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda p: robots.allowed(http_server.url(p))[0], paths))
    assert answers == [True] * 20 + [False] * 5
    assert http_server.hits["/robots.txt"] == 1
    assert http_server.requests[0].headers["User-Agent"].startswith("spacedigest/")


def test_each_cache_is_one_run(http_server):
    http_server.add("/robots.txt", body=b"User-agent: *\nDisallow:\n", content_type="text/plain")
    RobotsCache(policy=FAST).allowed(http_server.url("/a"))
    http_server.set("/robots.txt", body=b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    assert RobotsCache(policy=FAST).allowed(http_server.url("/a"))[0] is False  # next run sees the change


def test_robots_behind_a_redirect_is_followed(http_server):
    http_server.add("/real-robots.txt", body=b"User-agent: *\nDisallow: /x\n", content_type="text/plain")
    http_server.redirect("/robots.txt", "/real-robots.txt")
    assert RobotsCache(policy=FAST).allowed(http_server.url("/x/1"))[0] is False


WILDCARDS = b"""\
User-agent: *
Disallow: /

User-agent: spacedigest
Disallow: /*.pdf$
Disallow: /news/*/print
Disallow: /calls/
Allow: /calls/open/
Allow: /calls/*.html$
"""


def test_wildcards_and_the_longest_match_as_rfc_9309_says(http_server):
    """`*` matches any run of characters, `$` anchors the end, the longest matching rule wins
    (Allow on a tie): urllib.robotparser got every one of these wrong."""
    http_server.add("/robots.txt", body=WILDCARDS, content_type="text/plain")
    robots = RobotsCache(policy=FAST)
    expected = {
        "/report.pdf": False,              # `$`: ends in .pdf
        "/report.pdf?download=1": True,    # ... this one does not
        "/news/2024/print": False,         # `*` inside the path
        "/news/2024/summary": True,
        "/calls/closed/x": False,          # Disallow: /calls/
        "/calls/open/x": True,             # the longer Allow wins
        "/calls/closed/list.html": True,   # Allow with `*` and `$` is longer than Disallow: /calls/
        "/": True,                         # our own group, not `*`'s Disallow: /
    }
    got = {path: robots.allowed(http_server.url(path))[0] for path in expected}
    assert got == expected
