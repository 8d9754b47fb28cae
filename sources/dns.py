"""Name resolution inside the fetch deadline.

`socket.getaddrinfo` cannot be interrupted and ignores socket timeouts: with an unreachable or
lossy resolver, glibc waits `timeout` (5 s) per try and tries again (`attempts`: 2), so one
lookup can cost 10 s whatever deadline the fetch has. And under load a resolver loses some UDP
answers: an offline run of the built-in catalog spent 5 s waiting for a few lost answers.

`Resolver.resolve` therefore runs getaddrinfo in helper threads and waits at most the time the
fetch has left; when no answer has come after `hedge_after` seconds it asks again in parallel (at
most `max_lookups` at once), so a lost UDP answer costs a second, not five. Lookups of one host
are shared by every fetch of a run (single flight) and their answers kept for the run (`ttl`).
A lookup still hanging when its fetch gives up carries on in its thread and is used by the next
fetch of that host if it answers.

The connection classes at the end plug the resolver into urllib3 (and so requests), per session.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

# A resolver that answers at all answers within a second; after that, ask again in parallel.
HEDGE_AFTER = 1.0
MAX_LOOKUPS = 3
# Answers are kept this long (a run); failures for less, so a flapping resolver heals quickly.
TTL = 300.0
FAILURE_TTL = 30.0

AddrInfo = tuple  # one getaddrinfo result: (family, type, proto, canonname, sockaddr)


class DnsTimeout(socket.gaierror):
    """No answer within the time the fetch had left."""


class _Lookup:
    """One host's resolution, shared by every fetch that needs it while it runs."""

    def __init__(self, key: tuple):
        self.key = key
        self.done = threading.Event()
        self.answer: list[AddrInfo] | None = None
        self.error: socket.gaierror | None = None
        self.finished_at = 0.0
        self.started = 0
        self.in_flight = 0
        self.lock = threading.Lock()

    def ask(self) -> None:
        """Start one more getaddrinfo in a daemon thread (it may outlive the fetch that asked)."""
        with self.lock:
            self.started += 1
            self.in_flight += 1
        threading.Thread(target=self._run, name=f"dns-{self.key[0]}", daemon=True).start()

    def _run(self) -> None:
        host, port, family = self.key
        try:
            answer, error = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM), None
        except socket.gaierror as exc:
            answer, error = None, exc
        except (OSError, UnicodeError) as exc:
            answer, error = None, socket.gaierror(socket.EAI_FAIL, str(exc))
        with self.lock:
            self.in_flight -= 1
            if self.done.is_set():
                return
            # A temporary failure while another try is still out: wait for that one.
            if error is not None and error.errno == socket.EAI_AGAIN and self.in_flight:
                return
            self.answer, self.error = answer, error
            self.finished_at = time.monotonic()
            self.done.set()

    def fresh(self, now: float) -> bool:
        if not self.done.is_set():
            return True
        return now - self.finished_at < (TTL if self.answer else FAILURE_TTL)


class Resolver:
    """getaddrinfo with a time budget, hedged, single-flight and cached (one per run)."""

    def __init__(self, hedge_after: float = HEDGE_AFTER, max_lookups: int = MAX_LOOKUPS):
        self.hedge_after = hedge_after
        self.max_lookups = max_lookups
        self._lock = threading.Lock()
        self._lookups: dict[tuple, _Lookup] = {}

    def resolve(self, host: str, port: int, budget: float, family: int = socket.AF_UNSPEC) -> list[AddrInfo]:
        """The addresses of `host`, or socket.gaierror (DnsTimeout after `budget` seconds)."""
        key = (host.lower(), port, family)
        now = time.monotonic()
        with self._lock:
            lookup = self._lookups.get(key)
            if lookup is None or not lookup.fresh(now):
                lookup = self._lookups[key] = _Lookup(key)
                lookup.ask()
        end = now + max(0.0, budget)
        while not lookup.done.is_set():
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise DnsTimeout(socket.EAI_AGAIN, f"no DNS answer within {budget:.3g} s")
            next_ask = self.hedge_after * lookup.started - (time.monotonic() - now)
            if lookup.done.wait(max(0.0, min(remaining, next_ask))):
                break
            if lookup.started < self.max_lookups and time.monotonic() - now >= self.hedge_after * lookup.started:
                lookup.ask()
        if lookup.error is not None:
            raise lookup.error
        return list(lookup.answer or [])


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


class _ResolvedConnection:
    """Mixin for urllib3's connections: resolve with the session's Resolver within the connect
    timeout (which the fetch sets to what is left of its deadline), then connect to each address
    in turn. TLS still names the host (SNI, certificate): only the socket goes to the address."""

    resolver: Resolver

    def _new_conn(self):  # noqa: ANN202 (urllib3's signature)
        host = self._dns_host
        if _is_address(host):
            return super()._new_conn()
        budget = self.timeout if isinstance(self.timeout, (int, float)) else 60.0
        started = time.monotonic()
        try:
            answers = self.resolver.resolve(host, self.port, budget, allowed_gai_family())
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        if not answers:
            raise NameResolutionError(self.host, self, socket.gaierror(socket.EAI_NONAME, "no address"))
        last: Exception | None = None
        try:
            for *_, sockaddr in answers:
                left = budget - (time.monotonic() - started)
                if left <= 0:
                    break
                self._dns_host, self.timeout = sockaddr[0], left
                try:
                    return super()._new_conn()
                except (NewConnectionError, ConnectTimeoutError) as exc:
                    last = exc
        finally:
            self._dns_host, self.timeout = host, budget
        if last is not None:
            raise last
        raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={budget})")


def pool_classes(resolver: Resolver) -> dict[str, type]:
    """urllib3 pool classes (by scheme) whose connections resolve with `resolver`."""
    http = type("ResolvedHTTPConnection", (_ResolvedConnection, HTTPConnection), {"resolver": resolver})
    https = type("ResolvedHTTPSConnection", (_ResolvedConnection, HTTPSConnection), {"resolver": resolver})
    return {
        "http": type("ResolvedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("ResolvedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


__all__ = ["Resolver", "DnsTimeout", "pool_classes", "HEDGE_AFTER"]
