"""HTTP retrieval: one source URL -> bytes plus HTTP metadata, as a `Fetched` record.

Every site is treated as hostile. `fetch` never raises for network trouble; it returns a
`Fetched` whose `error` is one line naming the reason. What it guards against:

- time: connect/read timeouts and a total deadline per fetch (retries, redirects and name
  resolution included: sources.dns), enforced between body chunks too, so a server dripping a
  byte a second is cut off;
- size: a cap on the bytes received and, separately, on the decompressed body (gzip bombs);
- redirects: followed by hand so loops, too many hops and non-http(s) targets are refused, and
  a chain made only of 301/308 hops is reported as `permanent_redirect`;
- load: retries with exponential backoff on timeouts, dropped connections and 5xx; 429/503
  honour Retry-After within bounds; a `HostLimiter` keeps a few connections per host at most.
"""
from __future__ import annotations

import email.utils
import socket
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from importlib import metadata
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from spacedigest.sources.dns import DnsTimeout, Resolver, pool_classes
from spacedigest.sources.models import Fetched, Request, Validators

MiB = 1024 * 1024
_CHUNK = 64 * 1024


def _version() -> str:
    try:
        return metadata.version("spacedigest")
    except metadata.PackageNotFoundError:
        return "0.1"


USER_AGENT = (
    f"spacedigest/{_version()} (+https://github.com/spacedigest/spacedigest; "
    "programme digest for Japanese space companies)"
)
# Feeds first, but pages and JSON APIs are fetched through the same function.
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, application/json;q=0.8, text/html;q=0.8, */*;q=0.5"
)
_RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}
_REDIRECT_STATUS = {301, 302, 303, 307, 308}
_PERMANENT_STATUS = {301, 308}


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch. Times in seconds, sizes in bytes."""

    user_agent: str = USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # longest silence between two reads
    deadline: float = 60.0  # whole fetch: every try, redirect hop and backoff sleep
    max_bytes: int = 20 * MiB  # both on the wire and after decompression
    retries: int = 2  # extra tries after the first
    backoff: float = 0.5  # first retry wait; doubles each time
    max_retry_after: float = 30.0  # a longer Retry-After is respected by giving up, not waiting
    max_redirects: int = 5


DEFAULT_POLICY = FetchPolicy()


class _Adapter(HTTPAdapter):
    """requests' adapter whose connections resolve host names with a `Resolver` (sources.dns):
    DNS inside the fetch deadline, hedged, one lookup per host for the session."""

    def __init__(self, resolver: Resolver, **kwargs):
        self.resolver = resolver
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = pool_classes(self.resolver)


def new_session(policy: FetchPolicy = DEFAULT_POLICY, pool_size: int = 32) -> requests.Session:
    """A session for many concurrent fetches: pooled keep-alive connections, no hidden retries,
    name resolution bounded by each fetch's deadline and shared by the session's fetches."""
    session = requests.Session()
    adapter = _Adapter(Resolver(), pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {"User-Agent": policy.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    )
    return session


class HostLimiter:
    """At most `per_host` requests in flight per host name, across threads (politeness)."""

    def __init__(self, per_host: int = 2):
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @staticmethod
    def host_of(url: str) -> str:
        return (urlsplit(url).hostname or "").lower()

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = self.host_of(url)
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with semaphore:
            yield


# --- internals -----------------------------------------------------------------------------


class _Failure(Exception):
    """A failed try: a one-line reason, and whether trying again may help."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = False,
        http_status: int | None = None,
        final_url: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.http_status = http_status
        self.final_url = final_url
        self.retry_after = retry_after


class _Clock:
    """The total deadline of one fetch. Time spent queued for a host slot is not charged to it:
    a long queue behind one slow host must not time out the sources waiting politely."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.end = self.started + seconds
        self.queued = 0.0

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def charge_queue(self, seconds: float) -> None:
        self.end += seconds
        self.queued += seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started - self.queued

    def exceeded(self) -> _Failure:
        return _Failure(f"timed out: total deadline {self.seconds:g} s exceeded")


@dataclass
class _Outcome:
    status: str
    http_status: int
    final_url: str
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None
    headers: dict[str, str] | None = None


# Response headers kept on a Fetched for the parsers (pagination of JSON APIs).
_KEPT_HEADERS = ("x-wp-total", "x-wp-totalpages", "link")


def _size(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _status_text(code: int, reason: str | None) -> str:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = (reason or "").strip()
    return f"HTTP {code} {phrase}".rstrip()


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _find_cause(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """Walk the wrapped-exception chain requests/urllib3 build (args, reason, __cause__)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kinds):
            return current
        for nxt in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return None


def _network_failure(exc: Exception, url: str, clock: _Clock) -> _Failure:
    """Map a requests/urllib3 exception to a one-line reason."""
    host = urlsplit(url).hostname or url
    if clock.remaining() <= 0.05 and isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, socket.timeout)):
        return clock.exceeded()
    if isinstance(exc, requests.ConnectTimeout) or isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return _Failure(f"timed out: no connection to {host}", retryable=True)
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, socket.timeout)):
        return _Failure(f"timed out: {host} stopped sending", retryable=True)
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure(f"TLS error with {host}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                        requests.exceptions.MissingSchema, urllib3.exceptions.LocationParseError)):
        return _Failure(f"invalid URL {url!r}")
    if _find_cause(exc, (DnsTimeout,)):
        return _Failure(f"unreachable: cannot resolve host {host} (no DNS answer in time)")
    if _find_cause(exc, (socket.gaierror, urllib3.exceptions.NameResolutionError)):
        # A resolver failure rarely heals within seconds; retrying only slows an offline run.
        return _Failure(f"unreachable: cannot resolve host {host}")
    if _find_cause(exc, (ConnectionRefusedError,)):
        return _Failure("unreachable: connection refused", retryable=True)
    if _find_cause(exc, (ConnectionResetError, BrokenPipeError, urllib3.exceptions.ProtocolError)) or isinstance(
        exc, requests.exceptions.ChunkedEncodingError
    ):
        return _Failure("connection dropped by the server before the response was complete", retryable=True)
    if isinstance(exc, (requests.ConnectionError, OSError)):
        return _Failure(f"unreachable: cannot connect to {host}", retryable=True)
    return _Failure(f"request failed: {type(exc).__name__}")


class _TooBig(Exception):
    """Decoding would produce more than the cap allows."""


class _Decoder:
    """Content-Encoding decoder that never inflates past the room it is given (gzip bombs)."""

    def __init__(self, encoding: str | None):
        name = (encoding or "identity").strip().lower()
        if name in ("", "identity"):
            self._wbits = None
        elif name in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif name == "deflate":
            self._wbits = zlib.MAX_WBITS  # zlib-wrapped per the RFC; raw deflate tried on failure
        else:
            raise _Failure(f"unsupported Content-Encoding {encoding!r}")
        self._obj = zlib.decompressobj(self._wbits) if self._wbits else None
        self._started = False
        self._done = False  # trailing junk after the last gzip member: ignore the rest

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode `data`; raise _TooBig rather than return more than `room` bytes."""
        if self._obj is None:
            if len(data) > room:
                raise _TooBig
            return data
        if self._done:
            return b""
        out = self._inflate(data, room)
        # Concatenated gzip members are legal (and what some servers send).
        while self._obj.eof and self._obj.unused_data:
            rest = self._obj.unused_data
            self._obj = zlib.decompressobj(self._wbits)
            try:
                out += self._inflate(rest, room - len(out))
            except _Failure:
                self._done = True
                break
        return out

    def _inflate(self, data: bytes, room: int) -> bytes:
        try:
            # Asking for one byte more than the room tells "fits exactly" from "too big".
            out = self._obj.decompress(data, room + 1)
        except zlib.error as exc:
            if self._wbits == zlib.MAX_WBITS and not self._started:
                self._wbits = -zlib.MAX_WBITS  # servers that send raw deflate
                self._obj = zlib.decompressobj(self._wbits)
                return self._inflate(data, room)
            raise _Failure(f"corrupt compressed body ({exc})") from None
        self._started = True
        if len(out) > room:
            raise _TooBig
        return out


def _set_read_timeout(response: requests.Response, seconds: float) -> None:
    """Shrink the socket timeout to what is left of the deadline before each body read."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(0.01, seconds))
        except OSError:
            pass


def _read_body(response: requests.Response, policy: FetchPolicy, clock: _Clock) -> bytes:
    cap = policy.max_bytes
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise _Failure(f"body exceeds {_size(cap)} cap (Content-Length {int(declared)})")
    decoder = _Decoder(response.headers.get("Content-Encoding"))
    body = bytearray()
    received = 0
    while True:
        remaining = clock.remaining()
        if remaining <= 0:
            raise clock.exceeded()
        _set_read_timeout(response, min(policy.read_timeout, remaining))
        try:
            chunk = response.raw.read1(_CHUNK, decode_content=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _network_failure(exc, response.url, clock) from None
        if not chunk:
            break
        received += len(chunk)
        if received > cap:
            raise _Failure(f"body exceeds {_size(cap)} cap")
        try:
            body += decoder.feed(chunk, cap - len(body))
        except _TooBig:
            raise _Failure(f"body exceeds {_size(cap)} cap (decompressed)") from None
    return bytes(body)


@contextmanager
def _host_slot(limiter: HostLimiter | None, url: str, clock: _Clock) -> Iterator[None]:
    if limiter is None:
        yield
        return
    queued_at = time.monotonic()
    with limiter.slot(url):
        clock.charge_queue(time.monotonic() - queued_at)
        yield


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _one_try(
    session: requests.Session,
    url: str,
    method: str,
    data: bytes | None,
    headers: dict[str, str],
    policy: FetchPolicy,
    clock: _Clock,
    limiter: HostLimiter | None,
) -> _Outcome:
    """One try: the request and its redirect chain. Raises _Failure."""
    current = url
    visited = {urlsplit(url)._replace(fragment="").geturl()}
    hops: list[int] = []
    while True:
        with _host_slot(limiter, current, clock):
            remaining = clock.remaining()
            if remaining <= 0:
                raise clock.exceeded()
            timeout = (min(policy.connect_timeout, remaining), min(policy.read_timeout, remaining))
            try:
                response = session.request(
                    method, current, data=data, headers=headers, timeout=timeout,
                    allow_redirects=False, stream=True,
                )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                failure = _network_failure(exc, current, clock)
                failure.final_url = current
                raise failure from None
            with response:
                code = response.status_code
                if code in _REDIRECT_STATUS:
                    location = response.headers.get("Location")
                    if not location:
                        raise _Failure(f"{_status_text(code, response.reason)} without a Location header",
                                       http_status=code, final_url=current)
                    target = urljoin(current, location.strip())
                elif code == 304 or 200 <= code < 300:
                    body = None
                    if code != 304 and method != "HEAD":
                        try:
                            body = _read_body(response, policy, clock)
                        except _Failure as failure:
                            failure.http_status, failure.final_url = code, current
                            raise
                    permanent = current if hops and all(h in _PERMANENT_STATUS for h in hops) else None
                    return _Outcome(
                        status="not_modified" if code == 304 else "ok",
                        http_status=code,
                        final_url=current,
                        body=body,
                        content_type=response.headers.get("Content-Type"),
                        etag=response.headers.get("ETag"),
                        last_modified=response.headers.get("Last-Modified"),
                        permanent_redirect=permanent,
                        headers={k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers},
                    )
                else:
                    raise _Failure(
                        _status_text(code, response.reason),
                        retryable=code in _RETRYABLE_STATUS,
                        http_status=code,
                        final_url=current,
                        retry_after=_retry_after(response.headers.get("Retry-After")) if code in (429, 503) else None,
                    )
        # Follow the redirect outside the host slot: the next hop may be another host.
        if not _is_web_url(target):
            raise _Failure(f"redirect to non-http URL {target!r} refused", http_status=code, final_url=current)
        normalized = urlsplit(target)._replace(fragment="").geturl()
        if normalized in visited:
            raise _Failure(f"redirect loop at {target}", http_status=code, final_url=current)
        hops.append(code)
        if len(hops) > policy.max_redirects:
            raise _Failure(f"too many redirects (more than {policy.max_redirects})", http_status=code,
                           final_url=current)
        visited.add(normalized)
        if code == 303 or (code in (301, 302) and method == "POST"):
            method, data = "GET", None  # what browsers do; 307/308 keep the method and body
        current = target


def fetch(
    source_id: str,
    url: str,
    validators: Validators | None = None,
    *,
    policy: FetchPolicy = DEFAULT_POLICY,
    session: requests.Session | None = None,
    limiter: HostLimiter | None = None,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """Fetch `url` for `source_id` under `policy`; never raises for network or HTTP problems.

    status is "ok" (2xx, body read), "not_modified" (304 to our conditional GET) or "error"
    (`error` says why in one line; `http_status` is kept, e.g. 410 for a source that is gone).
    `duration_s` excludes time queued for a host slot; `attempts` counts tries (not hops).
    Pass a shared `session` (see `new_session`) to reuse connections across fetches.
    """
    fetched_at = datetime.now(timezone.utc)
    clock = _Clock(policy.deadline)
    method = method.upper()

    def result(status: str, attempts: int, **fields) -> Fetched:
        return Fetched(source_id=source_id, url=url, status=status, fetched_at=fetched_at,
                       duration_s=round(clock.elapsed(), 3), attempts=attempts, **fields)

    if not _is_web_url(url):
        return result("error", 0, error=f"not an http(s) URL: {url!r}")

    # Set per request too, in case the caller's session was not built by new_session: an
    # encoding we cannot decode (br, zstd) must never be invited.
    request_headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"}
    if validators is not None:
        if validators.etag:
            request_headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            request_headers["If-Modified-Since"] = validators.last_modified
    request_headers.update(headers or {})

    own_session = session is None
    if own_session:
        session = new_session(policy, pool_size=4)
    attempts = 0
    try:
        while True:
            attempts += 1
            try:
                outcome = _one_try(session, url, method, data, request_headers, policy, clock, limiter)
            except _Failure as failure:
                reason = failure.reason
                wait = _wait_before_retry(failure, attempts, policy, clock)
                if isinstance(wait, float):
                    time.sleep(wait)
                    continue
                if wait:
                    reason = f"{reason} ({wait})"
                elif attempts > 1:
                    reason = f"{reason} (after {attempts} attempts)"
                return result("error", attempts, error=reason, http_status=failure.http_status,
                              final_url=failure.final_url)
            except Exception as exc:  # a library surprise must still be one line, not a traceback
                detail = (str(exc).splitlines() or [""])[0]
                return result("error", attempts, error=f"unexpected {type(exc).__name__}: {detail}"[:300])
            body = outcome.body
            return result(
                outcome.status, attempts,
                final_url=outcome.final_url, http_status=outcome.http_status,
                content_type=outcome.content_type, body=body, etag=outcome.etag,
                last_modified=outcome.last_modified, permanent_redirect=outcome.permanent_redirect,
                bytes=len(body) if body else 0, headers=outcome.headers or {},
            )
    finally:
        if own_session:
            session.close()


def _wait_before_retry(failure: _Failure, attempts: int, policy: FetchPolicy, clock: _Clock) -> float | str | None:
    """Seconds to sleep before the next try, or None / a note (str) when we must give up."""
    if not failure.retryable or attempts > policy.retries:
        return None
    if failure.retry_after is not None:
        if failure.retry_after > policy.max_retry_after:
            return f"Retry-After {failure.retry_after:g} s is beyond the {policy.max_retry_after:g} s limit"
        wait = failure.retry_after
    else:
        wait = policy.backoff * 2 ** (attempts - 1)
    if wait >= clock.remaining():
        return f"no time left to retry within the {policy.deadline:g} s deadline"
    return float(wait)


class HttpRetriever:
    """The live web for a run: one connection pool, per-host limits and robots.txt answers shared by
    every fetch of the run (the `Retriever` of sources.kinds)."""

    def __init__(self, *, policy: FetchPolicy = DEFAULT_POLICY, pool_size: int = 32, per_host: int = 4):
        from spacedigest.sources.robots import RobotsCache

        self.policy = policy
        self.session = new_session(policy, pool_size=pool_size)
        self.limiter = HostLimiter(per_host=per_host)
        self.robots = RobotsCache(session=self.session, policy=policy, limiter=self.limiter)

    def fetch(self, source_id: str, request: Request, validators: Validators | None = None) -> Fetched:
        return fetch(source_id, request.url, validators, policy=self.policy, session=self.session,
                     limiter=self.limiter, method=request.method, data=request.body, headers=dict(request.headers))

    def allowed(self, url: str) -> tuple[bool, str | None]:
        return self.robots.allowed(url)

    def close(self) -> None:
        self.session.close()


__all__ = ["FetchPolicy", "DEFAULT_POLICY", "USER_AGENT", "HostLimiter", "HttpRetriever", "new_session", "fetch", "MiB"]
