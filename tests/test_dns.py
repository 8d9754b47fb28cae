"""Name resolution inside the fetch deadline (sources.dns), against real resolvers."""
from __future__ import annotations

import socket
import time

import pytest

from spacedigest.sources.dns import Resolver
from spacedigest.sources.retrieve import FetchPolicy, fetch, new_session
from tests.httpserver import free_port

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


def test_an_unresolvable_host_costs_no_more_than_the_fetch_deadline():
    """A resolver that never answers (glibc alone waits 5 s x 2 tries) costs the deadline."""
    from bench.dns import blackholed

    outcome = blackholed(1.5)
    if isinstance(outcome, str):
        pytest.skip(f"black-holed resolver: {outcome}")
    seconds, error = outcome
    assert seconds < 1.5 + 0.5, seconds
    assert error == "unreachable: cannot resolve host www.example-agency.org (no DNS answer in time)"


def test_a_host_name_with_several_addresses_connects_to_the_one_that_answers(http_server):
    """`localhost` may resolve to ::1 first; the server listens on 127.0.0.1 only."""
    http_server.add("/feed.xml", body=FEED)
    got = fetch("s", f"http://localhost:{http_server.port}/feed.xml", policy=FetchPolicy(deadline=5))
    assert got.status == "ok" and got.body == FEED


def test_one_lookup_per_host_for_a_whole_session(http_server):
    resolver = Resolver()
    first = resolver.resolve("localhost", 80, budget=5)
    started = time.monotonic()
    assert resolver.resolve("LOCALHOST", 80, budget=5) == first  # kept: no second lookup
    assert time.monotonic() - started < 0.01
    session = new_session()
    http_server.add("/a", body=FEED)
    for _ in range(3):
        assert fetch("s", f"http://localhost:{http_server.port}/a", session=session).status == "ok"
    session.close()


def test_a_name_that_does_not_exist_fails_at_once_with_one_line():
    resolver = Resolver()
    with pytest.raises(socket.gaierror):
        resolver.resolve("no-such-host.invalid", 80, budget=5)
    got = fetch("s", f"http://no-such-host.invalid:{free_port()}/feed", policy=FetchPolicy(deadline=5))
    assert got.error == "unreachable: cannot resolve host no-such-host.invalid" and got.duration_s < 2
