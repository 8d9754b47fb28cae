"""A local feed server for benchmarks: N feed URLs on loopback, a fixed latency per request,
ETag / Last-Modified revalidation (304), gzip when the client accepts it.

The feeds are generated here, deterministically (a seed per feed), as RSS 2.0 and Atom documents
of 20-30 entries that look like the programme announcements the project collects. When the real
captured corpus is present (`../shared/real-feeds/sismics-reader/feed/` from the project root) its
feed files are served too: first in the list (`corpus="first"`), or cycled over every feed URL
(`corpus="cycle"`: feed i serves corpus file i mod 37, the workload issue 14 measures); generated
feeds only with `corpus="none"`.

The feeds are spread over several loopback addresses (127.0.0.1, 127.0.0.2, ...): a real catalog
has many hosts, and both spacedigest's per-host limit and reader's thread pool see them as such.

Run standalone (prints one URL per line, then serves until interrupted)::

    python bench/server.py --feeds 200 --latency 0.1 --hosts 20 --corpus cycle
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_CORPUS = PROJECT_ROOT / ".." / "shared" / "real-feeds" / "sismics-reader" / "feed"
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)  # fixed: the feeds are the same every run
LAST_MODIFIED = format_datetime(EPOCH, usegmt=True)

_ORGS = ["ESA", "CNES", "Harwell Campus", "UK Space Agency", "JAXA", "DLR", "ASI", "Cross U"]
_KINDS = ["Call for proposals", "Invitation to tender", "Incubation programme", "Accelerator cohort",
          "Partnership opportunity", "Business event", "Open call", "Funding round", "Webinar"]
_TOPICS = ["Earth observation downstream services", "in-orbit servicing", "lunar surface logistics",
           "small launcher integration", "space weather monitoring", "satellite navigation for maritime use",
           "quantum communication payloads", "debris removal demonstrators", "ground segment as a service",
           "climate data analytics", "microgravity research", "optical inter-satellite links"]
_PHRASES = ["Companies established in member states are invited to apply.",
            "Japanese companies with a European partner are eligible.",
            "The programme offers up to EUR 200,000 of co-funding and business coaching.",
            "Applications close on {deadline}.", "Submissions open from {opening}.",
            "A briefing session will be held online; registration is free.",
            "Consortia led by SMEs are particularly welcome.",
            "See the full tender documentation on the procurement portal."]


def _entry_texts(rng: random.Random, feed_no: int, entry_no: int, when: datetime) -> tuple[str, str, str]:
    org = _ORGS[feed_no % len(_ORGS)]
    title = f"{rng.choice(_KINDS)}: {rng.choice(_TOPICS)} ({org} {feed_no}-{entry_no})"
    deadline = (when + timedelta(days=rng.randint(20, 90))).strftime("%d %B %Y")
    opening = (when + timedelta(days=rng.randint(1, 10))).strftime("%d %B %Y")
    sentences = [p.format(deadline=deadline, opening=opening) for p in rng.sample(_PHRASES, 4)]
    summary = "<p>" + " ".join(sentences[:2]) + "</p><p><strong>" + sentences[2] + "</strong> " + sentences[3] + "</p>"
    link = f"https://example.org/{org.lower().replace(' ', '-')}/programmes/{feed_no}/{entry_no}"
    return title, summary, link


def generated_feed(feed_no: int) -> bytes:
    """Feed number `feed_no`: RSS 2.0 for even numbers, Atom for odd, 20-30 entries, deterministic."""
    rng = random.Random(feed_no)
    count = rng.randint(20, 30)
    entries = []
    for entry_no in range(count):
        when = EPOCH - timedelta(hours=entry_no * 17 + rng.randint(0, 16))
        entries.append((when, *_entry_texts(rng, feed_no, entry_no, when)))
    org = _ORGS[feed_no % len(_ORGS)]
    if feed_no % 2 == 0:
        items = "".join(
            f"<item><title>{escape(t)}</title><link>{escape(l)}</link>"
            f"<guid isPermaLink=\"false\">bench-{feed_no}-{i}</guid>"
            f"<pubDate>{format_datetime(w)}</pubDate>"
            f"<description>{escape(s)}</description><category>Programmes</category></item>\n"
            for i, (w, t, s, l) in enumerate(entries)
        )
        doc = (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
               f"<title>{escape(org)} programmes feed {feed_no}</title><link>https://example.org/{feed_no}</link>"
               f"<description>Bench feed</description><language>en</language>\n{items}</channel></rss>\n")
    else:
        items = "".join(
            f"<entry><title type=\"text\">{escape(t)}</title><link rel=\"alternate\" href=\"{escape(l)}\"/>"
            f"<id>urn:bench:{feed_no}:{i}</id><updated>{w.isoformat()}</updated>"
            f"<published>{w.isoformat()}</published>"
            f"<summary type=\"html\">{escape(s)}</summary></entry>\n"
            for i, (w, t, s, l) in enumerate(entries)
        )
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
               f"<title>{escape(org)} programmes feed {feed_no}</title>"
               f"<link href=\"https://example.org/{feed_no}\"/><id>urn:bench:{feed_no}</id>"
               f"<updated>{EPOCH.isoformat()}</updated>\n{items}</feed>\n")
    return doc.encode("utf-8")


def real_corpus_files(root: Path = REAL_CORPUS) -> list[Path]:
    """The captured real feeds (not the captured error pages), when the corpus is present."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("feed_error"))


class _Doc:
    __slots__ = ("body", "gzipped", "etag", "content_type")

    def __init__(self, body: bytes, content_type: str):
        if body[:2] == b"\x1f\x8b":  # a captured gzip file: serve what it holds
            body = gzip.decompress(body)
        self.body = body
        self.gzipped = gzip.compress(body, compresslevel=5, mtime=0)
        self.etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        self.content_type = content_type


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real sites
    server_version = "bench-feeds/1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        farm: FeedServer = self.server.farm  # type: ignore[attr-defined]
        if farm.latency:
            time.sleep(farm.latency)
        doc = farm.docs.get(self.path.split("?", 1)[0])
        farm.count(self.path)
        if doc is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self._not_modified(doc):
            self.send_response(304)
            self.send_header("ETag", doc.etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        gz = "gzip" in (self.headers.get("Accept-Encoding") or "")
        body = doc.gzipped if gz else doc.body
        self.send_response(200)
        self.send_header("Content-Type", doc.content_type)
        self.send_header("ETag", doc.etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_modified(self, doc: _Doc) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return doc.etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return parsedate_to_datetime(ims) >= EPOCH
            except (TypeError, ValueError):
                return False
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


CORPUS_MODES = ("first", "cycle", "none")


class FeedServer:
    """`feeds` feeds on `hosts` loopback addresses: the real corpus (when present) first or cycled
    (`corpus`: first | cycle | none), generated feeds for the rest."""

    def __init__(self, feeds: int = 200, *, latency: float = 0.1, hosts: int = 50, corpus: str = "first"):
        if corpus not in CORPUS_MODES:
            raise ValueError(f"corpus must be one of {', '.join(CORPUS_MODES)}")
        self.latency = latency
        self.docs: dict[str, _Doc] = {}
        self.hits = 0
        self._lock = threading.Lock()
        paths = []
        real = [] if corpus == "none" else real_corpus_files()
        if corpus == "cycle" and real:
            real = [real[n % len(real)] for n in range(feeds)]
        read: dict[Path, _Doc] = {}  # a cycled file is read and compressed once
        for n, p in enumerate(real[:feeds]):
            path = f"/real/{n}/{p.name}"
            self.docs[path] = read.get(p) or read.setdefault(p, _Doc(p.read_bytes(), "application/xml"))
            paths.append(path)
        for n in range(feeds - len(paths)):
            path = f"/feeds/{n}.{'rss' if n % 2 == 0 else 'atom'}"
            self.docs[path] = _Doc(generated_feed(n), "application/rss+xml" if n % 2 == 0 else "application/atom+xml")
            paths.append(path)
        self.paths = paths
        self.hosts = max(1, min(hosts, 250))
        self._servers: list[_Server] = []
        self.urls: list[str] = []

    def count(self, path: str) -> None:
        with self._lock:
            self.hits += 1

    def start(self) -> "FeedServer":
        port = 0
        for h in range(self.hosts):
            server = _Server((f"127.0.0.{h + 1}", port), _Handler)
            port = server.server_address[1]  # same port on every address: URLs differ by host only
            server.farm = self  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
            self._servers.append(server)
        self.urls = [f"http://127.0.0.{i % self.hosts + 1}:{port}{p}" for i, p in enumerate(self.paths)]
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each response")
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses to spread the feeds over")
    parser.add_argument("--corpus", choices=CORPUS_MODES, default="first",
                        help="the real corpus first, cycled over every feed, or none (generated feeds only)")
    args = parser.parse_args(argv)
    server = FeedServer(args.feeds, latency=args.latency, hosts=args.hosts, corpus=args.corpus).start()
    for url in server.urls:
        print(url)
    print("READY", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
