"""Small HTTP servers on 127.0.0.1 for `spacedigest demo`: the sample site the demo collects from,
and the archive it shows with `--open`. Standard library only; each runs in a thread of the calling
process and is gone when it is stopped (or the process ends), so nothing is left behind.
"""
from __future__ import annotations

import functools
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from spacedigest.sources.sample import Page


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class _Quiet:
    def log_message(self, format, *args) -> None:  # the demo prints its own summary
        pass


class _SiteHandler(_Quiet, BaseHTTPRequestHandler):
    """Serves the pages the SampleSite holds now; an ETag per body, so a page that did not change
    between two collects answers 304, as a well-kept site does."""

    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        page = self.server.site.pages.get(urlsplit(self.path).path)
        if page is None:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", body=body)
            return
        etag = '"' + hashlib.blake2b(page.body, digest_size=8).hexdigest() + '"'
        if etag in [tag.strip() for tag in (self.headers.get("If-None-Match") or "").split(",")]:
            self._send(304, b"", None, etag=etag, body=False)
            return
        self._send(200, page.body, page.content_type, etag=etag, body=body)

    def _send(self, status: int, data: bytes, content_type: str | None, *, etag: str | None = None,
              body: bool) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", "0" if status == 304 else str(len(data)))
        self.end_headers()
        if body and status != 304:
            self.wfile.write(data)


class _Running:
    """A server in a thread: `url(path)`, `stop()`; a context manager."""

    def __init__(self, server: _Server):
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"loopback-{server.server_address[1]}")
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class SampleSite(_Running):
    """The sample week on loopback. `publish(pages)` replaces what it serves (a later capture)."""

    def __init__(self, pages: Mapping[str, Page] | None = None, port: int = 0):
        server = _Server(("127.0.0.1", port), _SiteHandler)
        server.site = self
        self.pages: Mapping[str, Page] = dict(pages or {})
        super().__init__(server)

    def publish(self, pages: Mapping[str, Page]) -> None:
        self.pages = dict(pages)  # one assignment: a request sees the old pages or the new ones


class _FolderHandler(_Quiet, SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".ics": "text/calendar; charset=utf-8",
                      ".atom": "application/atom+xml; charset=utf-8", ".html": "text/html; charset=utf-8"}


def serve_folder(folder: Path, port: int = 0) -> _Running:
    """Serve a folder's files (the archive) on 127.0.0.1; `port` 0 picks a free one."""
    handler = functools.partial(_FolderHandler, directory=str(folder))
    return _Running(_Server(("127.0.0.1", port), handler))
