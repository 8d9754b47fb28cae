"""A local HTTP server for tests: real sockets on 127.0.0.1, routes registered per test.

Usage (the `http_server` fixture in tests/conftest.py yields one of these)::

    with FixtureServer() as s:
        s.add("/feed.xml", body=FEED, etag='"v1"')          # 200, then 304 on If-None-Match
        s.add("/flaky", sequence=[{"status": 500}, {"body": FEED}])   # 500 then 200 (last repeats)
        s.add("/busy", status=429, headers={"Retry-After": "1"}, body=b"slow down")
        s.add("/slow", body=FEED, delay=2.0)                 # headers after 2 s
        s.add("/drip", body=b"x" * 100, drip_interval=1.0)   # one byte per second
        s.add("/gz", body=FEED, gzip=True)                   # Content-Encoding: gzip
        s.add("/bomb", body=gzip_bomb(100 * MiB), headers={"Content-Encoding": "gzip"})
        s.redirect("/old", s.url("/feed.xml"), status=301)
        s.add("/odd", handler=lambda h: h.close_after(b"HTTP/1.1 200 OK\\r\\nContent-Length: 99\\r\\n\\r\\nshort"))
        s.url("/feed.xml")       # -> "http://127.0.0.1:PORT/feed.xml"
        s.hits["/feed.xml"]      # requests served on that route
        free_port()              # a port with nothing listening (connection refused)
        s.requests               # [Request(method, path, headers, body), ...] in arrival order
        s.max_in_flight          # most requests being answered at once (concurrency checks)
        s.set("/feed.xml", body=NEW_FEED, etag='"v2"')       # replace a route (content changed)

Route keys (all optional):
    body           bytes (str is UTF-8 encoded) sent as the response body
    status         HTTP status, default 200
    headers        extra response headers (dict); they override the computed ones
    content_type   Content-Type, default "application/rss+xml" (None: no header)
    etag           sent as ETag; a matching If-None-Match gets 304
    last_modified  sent as Last-Modified (HTTP-date); If-Modified-Since at or after it gets 304
                   (only when the request has no If-None-Match, as RFC 9110 says)
    delay          seconds to wait before sending the status line (a slow server)
    drip_interval  seconds between single body bytes (a dripping server)
    gzip           compress the body with gzip and say so in Content-Encoding
    sequence       list of dicts with the keys above, served one per request in turn; the last one
                   repeats. A key missing from an item falls back to the add() argument.
    handler        callable(RawResponder) that writes the whole response itself, for cases no
                   well-behaved server produces (wrong Content-Length, dropped connections, ...)

Paths are matched exactly, the query string included when a route was registered with one, else
without it. Unknown paths get 404. GET, HEAD and POST are served (HEAD without a body; a POST's
body is recorded in `requests`). The server speaks HTTP/1.1 with keep-alive, like real sites, and
shuts down within a fraction of a second even while a dripping or delayed response is in flight.
"""
from __future__ import annotations

import email.utils
import gzip as gzip_module
import socket
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

MiB = 1024 * 1024

_ROUTE_KEYS = {
    "body", "status", "headers", "content_type", "etag", "last_modified",
    "delay", "drip_interval", "gzip", "handler",
}


@dataclass(frozen=True)
class Request:
    """One request as the server saw it. `headers` is case-insensitive (`headers["user-agent"]`)."""

    method: str
    path: str
    headers: Any  # http.client.HTTPMessage
    body: bytes = b""


def gzip_bomb(decompressed_size: int) -> bytes:
    """gzip bytes that expand to `decompressed_size` zero bytes (about 1000:1), built in O(1) memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MiB
    parts = []
    remaining = decompressed_size
    while remaining > 0:
        parts.append(compressor.compress(block[: min(remaining, len(block))]))
        remaining -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


def free_port() -> int:
    """A local port nothing listens on (bound then released), for connection-refused cases."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_date(when: float | None = None) -> str:
    """An RFC 9110 HTTP-date for a Unix time (now by default), for Last-Modified / Retry-After."""
    return email.utils.formatdate(time.time() if when is None else when, usegmt=True)


class RawResponder:
    """What a raw `handler` gets: write bytes straight to the socket, then say how to end."""

    def __init__(self, handler: "_Handler"):
        self._handler = handler
        self.request = handler.current_request
        self.stopping = handler.server.stopping  # threading.Event set when the server shuts down

    def write(self, data: bytes) -> None:
        self._handler.wfile.write(data)
        self._handler.wfile.flush()

    def close_after(self, data: bytes = b"") -> None:
        """Write `data` then drop the connection (no keep-alive)."""
        if data:
            self.write(data)
        self._handler.close_connection = True

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; returns False when it is."""
        return not self.stopping.wait(seconds)


class _Route:
    def __init__(self, spec: dict[str, Any], sequence: list[dict[str, Any]] | None):
        self.spec = spec
        self.sequence = sequence or []
        self.served = 0

    def next_spec(self) -> dict[str, Any]:
        if not self.sequence:
            self.served += 1
            return self.spec
        item = self.sequence[min(self.served, len(self.sequence) - 1)]
        self.served += 1
        return {**self.spec, **item}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for a handler thread (a drip) at shutdown

    def __init__(self, owner: "FixtureServer"):
        self.owner = owner
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; avoid 40 ms stalls
    server: _Server
    timeout = 10  # an idle keep-alive connection is dropped after this

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        owner = self.server.owner
        owner._enter()
        try:
            self._serve_request()
        finally:
            owner._leave()

    def _serve_request(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        self.current_request = Request(self.command, self.path, self.headers, body)
        spec = owner._take(self.path, self.current_request)
        if spec is None:
            self._respond({"status": 404, "body": b"not found\n", "content_type": "text/plain"})
            return
        if spec.get("handler"):
            spec["handler"](RawResponder(self))
            return
        self._respond(spec)

    def _respond(self, spec: dict[str, Any]) -> None:
        stopping = self.server.stopping
        if spec.get("delay") and stopping.wait(spec["delay"]):
            self.close_connection = True
            return
        status = int(spec.get("status", 200))
        body = spec.get("body", b"")
        if isinstance(body, str):
            body = body.encode("utf-8")
        etag, last_modified = spec.get("etag"), spec.get("last_modified")
        if status == 200 and self._not_modified(etag, last_modified):
            status, body = 304, b""
        headers: dict[str, str] = {}
        content_type = spec.get("content_type", "application/rss+xml")
        if content_type and status != 304:
            headers["Content-Type"] = content_type
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified
        if spec.get("gzip") and body:
            body = gzip_module.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        headers.update(spec.get("headers") or {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD" or status == 304:
            return
        interval = spec.get("drip_interval")
        if not interval:
            self.wfile.write(body)
            return
        for i in range(len(body)):
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            if stopping.wait(interval):
                self.close_connection = True
                return

    def _not_modified(self, etag: str | None, last_modified: str | None) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip() for t in if_none_match.split(",")]
            return bool(etag) and ("*" in tags or etag in tags or f"W/{etag}" in tags)
        since = self.headers.get("If-Modified-Since")
        if since and last_modified:
            try:
                return email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(last_modified)
            except (TypeError, ValueError):
                return False
        return False

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            # The client went away (a fetch gave up on a drip): not a test failure.
            self.close_connection = True


class FixtureServer:
    """Threaded HTTP server on 127.0.0.1 (random free port) serving registered routes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"fixture-http-{self.port}",
        )

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FixtureServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()  # wakes delays and drips
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> "FixtureServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # routes ------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = "application/rss+xml",
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0.0,
        drip_interval: float | None = None,
        gzip: bool = False,
        sequence: list[dict[str, Any]] | None = None,
        handler: Callable[[RawResponder], None] | None = None,
    ) -> str:
        """Register (or replace) a route; returns its full URL."""
        spec = {
            "body": body, "status": status, "headers": headers, "content_type": content_type,
            "etag": etag, "last_modified": last_modified, "delay": delay,
            "drip_interval": drip_interval, "gzip": gzip, "handler": handler,
        }
        for item in sequence or []:
            unknown = set(item) - _ROUTE_KEYS
            if unknown:
                raise ValueError(f"unknown route keys in sequence item: {sorted(unknown)}")
        with self._lock:
            self._routes[path] = _Route(spec, sequence)
        return self.url(path)

    def set(self, path: str, **route: Any) -> str:
        """Replace a route (e.g. the feed changed between two runs); its sequence restarts."""
        return self.add(path, **route)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """`path` answers `status` with `Location: to` (absolute or relative, passed as given)."""
        return self.add(path, status=status, headers={"Location": to}, content_type="text/plain")

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _take(self, raw_path: str, request: Request) -> dict[str, Any] | None:
        """Log the request and pick the spec that answers it."""
        with self._lock:
            self.requests.append(request)
            key = raw_path if raw_path in self._routes else urlsplit(raw_path).path
            self.hits[key] += 1
            route = self._routes.get(key)
            return dict(route.next_spec()) if route else None


__all__ = ["FixtureServer", "Request", "RawResponder", "gzip_bomb", "http_date", "free_port", "MiB"]
