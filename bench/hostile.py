"""Hostile input and faults, through the real command line: nothing lost, nothing sent twice, nothing unsafe.

Run (from the repository root):

    .venv/bin/python bench/hostile.py            # every case, about 1-2 minutes (the drip case waits out
                                                 # the 60 s fetch deadline while the others run)
    .venv/bin/python bench/hostile.py --only gzip-bomb --only xss-rss
    .venv/bin/python bench/hostile.py --list

Every feed case runs `spacedigest collect` (a subprocess, its own temporary SPACEDIGEST_HOME) against a
local HTTP server, next to a healthy source that must still load; then `spacedigest digest`, and the
rendered reports are scanned for unsafe output (<script>, on*= attributes, non-http(s) links). Faults
(SIGKILL during a load, SMTP drops and refusals, a warehouse held by another process, an old schema,
an unwritable reports folder, a full disk) are provoked for real. The table lists: case, outcome, items
lost, duplicates, unsafe output. Exit 0 when the goal is met (every case handled, 0 crashes, 0 lost,
0 duplicates, 0 unsafe), else 1.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

import duckdb
import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import prefect_server  # noqa: E402
from tests.httpserver import FixtureServer, MiB, gzip_bomb  # noqa: E402

CLI = str(ROOT / ".venv" / "bin" / "spacedigest")
if not Path(CLI).exists():  # run with another interpreter: use this one's console script
    CLI = str(Path(sys.executable).parent / "spacedigest")
HEALTHY_COUNT = 3
COLLECT_TIMEOUT = 150.0  # seconds; the fetch deadline is 60 s, startup ~10 s


# --------------------------------------------------------------------------------------------------
# Fixture builders


def rfc822(moment: datetime | None = None) -> str:
    return format_datetime(moment or datetime.now(timezone.utc))


def rss_item(title: str, link: str | None = None, guid: str | None = None, date: str | None = "now",
             summary: str | None = None, raw: bool = False) -> str:
    """One <item>; `raw` passes title/summary/link through unescaped (for deliberately broken XML)."""
    esc = (lambda v: v) if raw else escape
    parts = [f"<title>{esc(title)}</title>"]
    if link is not None:
        parts.append(f"<link>{esc(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{esc(guid)}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{rfc822() if date == 'now' else date}</pubDate>")
    if summary is not None:
        parts.append(f"<description>{esc(summary)}</description>")
    return "<item>" + "".join(parts) + "</item>"


def rss(items: list[str] | str, encoding: str = "utf-8", declare: str | None = None) -> bytes:
    body = "".join(items) if isinstance(items, list) else items
    text = (f'<?xml version="1.0" encoding="{declare or encoding}"?>\n<rss version="2.0"><channel>'
            f"<title>Feed</title><link>http://example.org/</link>{body}</channel></rss>")
    return text.encode(encoding)


def healthy_feed(case: str) -> bytes:
    return rss([rss_item(f"{case} healthy call for proposals {i}", f"http://healthy.example.org/{case}/{i}",
                         f"{case}-healthy-{i}", summary="A well-behaved entry.") for i in range(HEALTHY_COUNT)])


def many_entries(n: int, prefix: str) -> bytes:
    now = rfc822()
    items = [f"<item><title>{prefix} entry number {i}</title><link>http://bulk.example.org/{prefix}/{i}</link>"
             f"<guid>{prefix}-{i}</guid><pubDate>{now}</pubDate><description>Entry {i} of {n}.</description></item>"
             for i in range(n)]
    return rss(items)


XSS_LINKS = ["javascript:alert(1)", " JaVaScRiPt:alert(2)", "java\tscript:alert(3)",
             "data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==", "vbscript:msgbox(5)"]


def xss_rss() -> bytes:
    items = [
        rss_item('<script>alert("t1")</script>Grant call one', "http://x.example.org/1", "x1",
                 summary='<img src=x onerror="alert(1)">Summary <a href="javascript:alert(1)">click</a>'),
        rss_item('Grant <img src="data:image/svg+xml,<svg onload=alert(1)>" onerror=alert(2)> call two',
                 "http://x.example.org/2", "x2", summary='<iframe src="javascript:alert(1)"></iframe><b onmouseover=alert(1)>bold</b>'),
        rss_item("&lt;script&gt;alert('escaped')&lt;/script&gt; call three", "http://x.example.org/3", "x3",
                 summary="&lt;a href=&quot;javascript:alert(1)&quot; onclick=&quot;x()&quot;&gt;escaped markup&lt;/a&gt;"),
        rss_item("<svg><script>alert(1)</script></svg>call four <style>body{}</style>", "http://x.example.org/4",
                 "x4", summary='<form action="javascript:alert(1)"><button formaction="data:x">go</button></form>'),
    ]
    for i, link in enumerate(XSS_LINKS):
        items.append(rss_item(f"Unsafe link call {i}", link, f"xl{i}", summary=f'<a href="{link}">more</a>'))
    items.append(rss_item("Markdown [link](javascript:alert(1)) and <b>tags</b> call", "http://x.example.org/md",
                          "xmd", summary="[click me](javascript:alert(1)) ![img](data:x) <javascript:alert(1)>"))
    return rss(items)


def xss_atom() -> bytes:
    now = datetime.now(timezone.utc).isoformat()
    return textwrap.dedent(f"""\
        <?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>{now}</updated>
        <entry><id>urn:a1</id><title type="text">&lt;script&gt;alert(1)&lt;/script&gt; atom text call</title>
          <link href="javascript:alert(1)"/><updated>{now}</updated>
          <summary type="html">&lt;img src=x onerror=alert(1)&gt;html summary</summary></entry>
        <entry><id>urn:a2</id><title type="html">&lt;a href="javascript:alert(2)" onclick="x()"&gt;atom html call&lt;/a&gt;</title>
          <link href="data:text/html,&lt;script&gt;alert(2)&lt;/script&gt;"/><updated>{now}</updated>
          <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><script>alert(3)</script><p onclick="x()">xhtml</p></div></content></entry>
        <entry><id>urn:a3</id><title>"quoted" &amp; 'apostrophes' &lt;/title&gt; call</title>
          <link href="http://x.example.org/a3?a=1&amp;b=&quot;&gt;&lt;script&gt;"/><updated>{now}</updated></entry>
        </feed>""").encode()


def encoded_feed(encoding: str, titles: list[str], declare: str | None = None, content_type_charset: str | None = None) -> bytes:
    items = [rss_item(t, f"http://enc.example.org/{encoding}/{i}", f"{encoding}-{i}") for i, t in enumerate(titles)]
    return rss(items, encoding=encoding, declare=declare)


def encoded_page(encoding: str, titles: list[str], meta: bool = True) -> bytes:
    lis = "".join(f'<li class="item"><a href="/news/{i}">{escape(t)}</a> <time datetime="{datetime.now(timezone.utc).date()}">'
                  f"</time></li>" for i, t in enumerate(titles))
    head = f'<meta charset="{encoding}">' if meta else ""
    return f"<!doctype html><html><head>{head}<title>News</title></head><body><ul>{lis}</ul></body></html>".encode(encoding)


TEXTS = {
    "windows-1251": ["Конкурс грантов для космических стартапов", "Программа поддержки инкубаторов"],
    "iso-8859-1": ["Appel à projets: éléments spatiaux", "Clôture de l'appel: señal año"],
    "shift_jis": ["宇宙ビジネス支援プログラムの公募開始", "海外展開セミナーのお知らせ"],
    "euc-jp": ["衛星データ利活用の募集について", "宇宙産業イベント開催のご案内"],
}


# --------------------------------------------------------------------------------------------------
# Running the command line


@dataclass
class Run:
    rc: int | None  # None: killed by the timeout
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err

    @property
    def crashed(self) -> bool:
        return self.rc is None or "Traceback (most recent call last)" in self.text


PREFECT_API: dict[str, str] = {}  # filled by main(): one Prefect server shared by every case, as scheduled runs have


def env_for(home: Path, catalog: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACEDIGEST_", "PREFECT_"))}
    env.update(SPACEDIGEST_HOME=str(home), SPACEDIGEST_FROM="Digest <digest@example.org>", NO_PROXY="*", no_proxy="*",
               SPACEDIGEST_SENDER_NAME="Bench", SPACEDIGEST_POSTAL_ADDRESS="1-1 Bench, Tokyo",
               SPACEDIGEST_CONTACT_EMAIL="office@example.org", SPACEDIGEST_SITE_URL="https://digest.example.org/")
    if PREFECT_API:
        env.update(PREFECT_API_URL=PREFECT_API["url"], PREFECT_HOME=str(home.parent / f".prefect-{home.name}"))
    if catalog is not None:
        env["SPACEDIGEST_SOURCES"] = str(catalog)
    env.update(extra)
    return env


def cli(home: Path, *args: str, catalog: Path | None = None, timeout: float = COLLECT_TIMEOUT,
        preexec: Callable[[], None] | None = None, **extra: str) -> Run:
    started = time.monotonic()
    proc = subprocess.Popen([CLI, *args], env=env_for(home, catalog, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=preexec)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    return Run(rc, out, err, time.monotonic() - started)


def write_catalog(path: Path, sources: list[dict]) -> Path:
    lines = []
    for s in sources:
        lines.append("[[source]]")
        for key, value in {"organisation": "ESA", "kind": "feed", "language": "en", "enabled": True, **s}.items():
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def query(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Read the main warehouse file directly (no spacedigest process is running then)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def present(home: Path) -> dict[str, int]:
    return dict(query(home, "SELECT source_id, count(*) FROM item_sources GROUP BY source_id"))


def duplicates(home: Path) -> int:
    """Items sharing (url, title), plus entry rows listed twice, plus items no entry points to twice."""
    rows = query(home, """
        SELECT (SELECT count(*) - count(DISTINCT (coalesce(url, '<none>:' || id), title)) FROM items)
             + (SELECT count(*) - count(DISTINCT (source_id, entry_key)) FROM item_sources)
             + (SELECT count(*) - count(DISTINCT id) FROM items)""")
    return int(rows[0][0])


# --------------------------------------------------------------------------------------------------
# Unsafe output

_SAFE_SCHEMES = {"http", "https"}
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*)\s*:")
_URL_ATTRS = {"href", "src", "action", "formaction", "poster", "background", "cite", "data", "srcset",
              "xlink:href", "longdesc", "ping", "manifest", "codebase", "icon", "lowsrc", "dynsrc"}
_DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "applet", "frame", "frameset", "base", "meta"}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _bad_scheme(value: str) -> str | None:
    cleaned = _CONTROL.sub("", value)
    m = _SCHEME.match(cleaned)
    if m and m.group(1).lower() not in _SAFE_SCHEMES:
        return m.group(1).lower()
    return None


def scan_html(text: str) -> list[str]:
    findings = []
    if re.search(r"<\s*script", text, re.IGNORECASE):
        findings.append("<script")
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - an unparseable report is itself a finding
        return findings + [f"unparseable HTML ({exc})"]
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in _DANGEROUS_TAGS and not (tag == "meta" and set(el.attrib) <= {"charset", "name", "content"}
                                            and "refresh" not in (el.get("http-equiv") or "").lower()):
            findings.append(f"<{tag}> element")
        for name, value in el.attrib.items():
            lname = name.lower()
            if lname.startswith("on"):
                findings.append(f"{lname}= attribute on <{tag}>")
            if lname in _URL_ATTRS:
                for candidate in (value.split(",") if lname == "srcset" else [value]):
                    scheme = _bad_scheme(candidate)
                    if scheme:
                        findings.append(f"{lname}={scheme}: on <{tag}>")
            if lname == "style" and re.search(r"expression\s*\(|url\s*\(\s*['\"]?\s*(javascript|data):", value, re.I):
                findings.append(f"style with script on <{tag}>")
    return findings


_MD_LINK = re.compile(r"(?<!\\)\]\(\s*<?([^)\s>]*)")  # "\](" is escaped text, not a link
_MD_AUTOLINK = re.compile(r"(?<!\\)<([a-zA-Z][a-zA-Z0-9+.\-]*:[^>\s]*)>")
_RAW_TAG_WITH_HANDLER = re.compile(r"<[a-zA-Z][^>]*\s(on[a-z]+)\s*=", re.IGNORECASE)
_RAW_URL_ATTR = re.compile(r"<[a-zA-Z][^>]*\s(?:href|src|action|formaction)\s*=\s*['\"]?\s*([a-zA-Z][\w+.\-]*):", re.I)


def scan_markdown(text: str) -> list[str]:
    """Markdown is rendered to HTML by whoever reads it: raw HTML and link targets matter."""
    findings = []
    if re.search(r"<\s*script", text, re.IGNORECASE):
        findings.append("<script")
    for m in _MD_LINK.finditer(text):
        scheme = _bad_scheme(m.group(1))
        if scheme:
            findings.append(f"markdown link to {scheme}:")
    for m in _MD_AUTOLINK.finditer(text):
        scheme = _bad_scheme(m.group(1))
        if scheme:
            findings.append(f"autolink to {scheme}:")
    for m in _RAW_TAG_WITH_HANDLER.finditer(text):
        findings.append(f"raw tag with {m.group(1)}=")
    for m in _RAW_URL_ATTR.finditer(text):
        if m.group(1).lower() not in _SAFE_SCHEMES:
            findings.append(f"raw tag link to {m.group(1).lower()}:")
    return findings


_TEXT_LINK_LINE = re.compile(r"^\s*<?([a-zA-Z][a-zA-Z0-9+.\-]*):\S+>?\s*$", re.MULTILINE)


def scan_text(text: str) -> list[str]:
    """Plain text is never interpreted: a title that literally reads "<script>" is shown as the
    publisher wrote it. What a reader acts on is a link, and the text format puts each on a line of
    its own: every such line must be http(s)."""
    findings = []
    for m in _TEXT_LINK_LINE.finditer(text):
        if m.group(1).lower() not in _SAFE_SCHEMES | {"mailto"}:
            findings.append(f"link line with {m.group(1).lower()}:")
    return findings


def scan_reports(folder: Path) -> list[str]:
    findings = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        suffix = path.suffix.lower()
        found = (scan_html(text) if suffix in (".html", ".htm") else scan_markdown(text) if suffix == ".md"
                 else scan_text(text) if suffix == ".txt" else [])
        findings += [f"{path.name}: {f}" for f in found]
    return findings


def scan_messages(folder: Path) -> list[str]:
    """Every .eml: its HTML part, text part and headers."""
    findings = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "text/html":
                findings += [f"{path.name}: {f}" for f in scan_html(part.get_content())]
            elif ctype == "text/plain":
                findings += [f"{path.name}: {f}" for f in scan_text(part.get_content())]
    return findings


# --------------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    case: str
    outcome: str
    lost: int = 0
    dups: int = 0
    unsafe: int = 0
    crashed: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.crashed or self.lost or self.dups or self.unsafe or self.problems)


def _one_line(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failed_reason(run: Run, source_id: str) -> str | None:
    m = re.search(rf"^\s*FAILED {re.escape(source_id)} \S+: (.+)$", run.out, re.MULTILINE)
    return m.group(1).strip() if m else None


# --------------------------------------------------------------------------------------------------
# Feed cases


@dataclass
class FeedCase:
    """One hostile source (or a few) next to a healthy one, through collect + digest."""

    name: str
    routes: dict[str, dict]  # path (under /<case>/) -> FixtureServer.add kwargs
    sources: list[dict]  # catalog entries; "path" is replaced by the URL of that route
    expect: dict[str, int]  # source id -> entries that must be loaded
    must_fail: dict[str, str] = field(default_factory=dict)  # source id -> regex the reason must match
    check: Callable[[Path], list[str]] | None = None  # more checks on the warehouse
    note: str = ""


def _titles_check(source_id: str, wanted: list[str]) -> Callable[[Path], list[str]]:
    def check(home: Path) -> list[str]:
        got = {r[0] for r in query(home, "SELECT i.title FROM items i JOIN item_sources s ON s.item_id = i.id "
                                         "WHERE s.source_id = ?", [source_id])}
        return [f"{source_id}: title {t!r} missing or mis-decoded (got {sorted(got)[:3]})" for t in wanted if t not in got]
    return check


def _dates_check(source_id: str) -> Callable[[Path], list[str]]:
    def check(home: Path) -> list[str]:
        now = datetime.now(timezone.utc)
        rows = query(home, "SELECT i.title, i.published_at FROM items i JOIN item_sources s ON s.item_id = i.id "
                           "WHERE s.source_id = ?", [source_id])
        return [f"{source_id}: implausible published_at {when} for {title!r}" for title, when in rows
                if not (datetime(1990, 1, 1, tzinfo=timezone.utc) <= when <= now + timedelta(days=3))]
    return check


def _length_check(source_id: str, limit: int = 2000) -> Callable[[Path], list[str]]:
    def check(home: Path) -> list[str]:
        rows = query(home, "SELECT max(length(i.title)), max(length(coalesce(i.summary, ''))), "
                           "bool_or(contains(i.title, chr(0)) OR contains(coalesce(i.summary, ''), chr(0))) "
                           "FROM items i JOIN item_sources s ON s.item_id = i.id WHERE s.source_id = ?", [source_id])
        title_len, summary_len, has_nul = rows[0]
        problems = []
        if (title_len or 0) > limit or (summary_len or 0) > limit:
            problems.append(f"{source_id}: text not capped (title {title_len}, summary {summary_len} chars)")
        if has_nul:
            problems.append(f"{source_id}: NUL byte stored")
        return problems
    return check


def _combine(*checks: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    return lambda home: [p for c in checks for p in c(home)]


def feed_cases() -> list[FeedCase]:
    cases: list[FeedCase] = []
    add = cases.append

    malformed = rss([rss_item("Malformed & unescaped <b>call</b> one", "http://m.example.org/1?a=1&b=2", "m1", raw=True),
                     rss_item("Malformed call two", "http://m.example.org/2", "m2"),
                     "<item><title>Malformed call three</title><link>http://m.example.org/3</link><guid>m3</guid>"
                     "<description>unclosed <p>paragraph</description></item>"]).replace(b"</channel></rss>", b"")
    add(FeedCase("malformed-xml", {"feed": {"body": malformed}}, [{"id": "case", "path": "feed"}], {"case": 3}))

    latin = ["Appel à projets spatiaux élargi", "Clôture: señal año über"]
    add(FeedCase("charset-mismatch-xml",
                 {"feed": {"body": encoded_feed("iso-8859-1", latin, declare="utf-8")}},
                 [{"id": "case", "path": "feed"}], {"case": 2}, check=_titles_check("case", latin),
                 note="declares utf-8 in the XML, sends ISO-8859-1"))
    add(FeedCase("charset-mismatch-http",
                 {"feed": {"body": encoded_feed("shift_jis", TEXTS["shift_jis"], declare="shift_jis"),
                           "content_type": "application/rss+xml; charset=utf-8"}},
                 [{"id": "case", "path": "feed"}], {"case": 2}, check=_titles_check("case", TEXTS["shift_jis"]),
                 note="HTTP says utf-8, XML and bytes are Shift_JIS"))
    for enc, titles in TEXTS.items():
        add(FeedCase(f"feed-{enc}", {"feed": {"body": encoded_feed(enc, titles),
                                              "content_type": "application/rss+xml"}},
                     [{"id": "case", "path": "feed"}], {"case": 2}, check=_titles_check("case", titles)))
        page_titles = [t + " (page)" for t in titles]
        add(FeedCase(f"page-{enc}", {"page": {"body": encoded_page(enc, page_titles),
                                              "content_type": f"text/html; charset={enc}"}},
                     [{"id": "case", "path": "page", "kind": "html", "item_selector": "li.item"}],
                     {"case": 2}, check=_titles_check("case", page_titles)))
    add(FeedCase("page-shift_jis-meta-only",
                 {"page": {"body": encoded_page("shift_jis", ["メタだけの文字コード宣言の公募"]), "content_type": "text/html"}},
                 [{"id": "case", "path": "page", "kind": "html", "item_selector": "li.item"}],
                 {"case": 1}, check=_titles_check("case", ["メタだけの文字コード宣言の公募"]),
                 note="charset only in <meta>, none in HTTP"))

    add(FeedCase("body-50MB", {"big": {"body": b"<rss>" + b" " * (50 * MiB) + b"</rss>"}},
                 [{"id": "case", "path": "big"}], {"case": 0}, must_fail={"case": r"(?i)(MiB|MB|bytes|large|cap|limit)"}))
    add(FeedCase("body-50MB-no-length",
                 {"big": {"handler": _stream_without_length(50 * MiB)}},
                 [{"id": "case", "path": "big"}], {"case": 0}, must_fail={"case": r"(?i)(MiB|MB|bytes|large|cap|limit)"},
                 note="no Content-Length, the cap must apply while reading"))
    add(FeedCase("gzip-bomb-http",
                 {"bomb": {"body": gzip_bomb(1024 * MiB), "headers": {"Content-Encoding": "gzip"}}},
                 [{"id": "case", "path": "bomb"}], {"case": 0}, must_fail={"case": r"(?i)(MiB|MB|expand|decompress|large|cap)"},
                 note="Content-Encoding: gzip expanding to 1 GiB"))
    add(FeedCase("gzip-bomb-body",
                 {"bomb": {"body": gzip_bomb(1024 * MiB), "content_type": "application/gzip"}},
                 [{"id": "case", "path": "bomb"}], {"case": 0}, must_fail={"case": r"(?i)(MiB|MB|expand|decompress|large|cap)"},
                 note="a .gz body (no Content-Encoding) expanding to 1 GiB"))
    add(FeedCase("drip-1-byte-per-s", {"drip": {"body": healthy_feed("drip"), "drip_interval": 1.0}},
                 [{"id": "case", "path": "drip"}], {"case": 0}, must_fail={"case": r"(?i)(deadline|timed out)"},
                 note="cut by the 60 s total deadline (no setting shortens it)"))
    add(FeedCase("redirect-loop", {"a": {"redirect": "b"}, "b": {"redirect": "c"}, "c": {"redirect": "a"}},
                 [{"id": "case", "path": "a"}], {"case": 0}, must_fail={"case": r"(?i)(loop|too many)"}))
    add(FeedCase("redirect-self", {"a": {"redirect": "a", "status": 302}},
                 [{"id": "case", "path": "a"}], {"case": 0}, must_fail={"case": r"(?i)(loop|too many)"}))
    add(FeedCase("redirect-non-http",
                 {"js": {"redirect_to": "javascript:alert(1)"}, "file": {"redirect_to": "file:///etc/passwd"},
                  "ftp": {"redirect_to": "ftp://127.0.0.1/feed.xml"}, "data": {"redirect_to": "data:text/xml,<rss/>"}},
                 [{"id": "case-js", "path": "js"}, {"id": "case-file", "path": "file"},
                  {"id": "case-ftp", "path": "ftp"}, {"id": "case-data", "path": "data"}],
                 {"case-js": 0, "case-file": 0, "case-ftp": 0, "case-data": 0},
                 must_fail={s: r"(?i)(non-http|scheme|refused|not an http)" for s in ("case-js", "case-file", "case-ftp", "case-data")}))
    add(FeedCase("10000-entries", {"feed": {"body": many_entries(10_000, "bulk")}},
                 [{"id": "case", "path": "feed"}], {"case": 10_000}))
    add(FeedCase("no-id-link-date",
                 {"feed": {"body": rss([rss_item(f"Bare entry without id link or date {i}", date=None) for i in range(4)]
                                       + [rss_item("", summary="Only a summary, no title no id no link", date=None),
                                          rss_item("Entry with only a link", "http://bare.example.org/only-link", date=None)])}},
                 [{"id": "case", "path": "feed"}], {"case": 6}, check=_dates_check("case")))
    add(FeedCase("dates-future-and-1970",
                 {"feed": {"body": rss([
                     rss_item("Far future dated call", "http://d.example.org/1", "d1", date="Fri, 01 Jan 2100 00:00:00 GMT"),
                     rss_item("Year 9999 dated call", "http://d.example.org/2", "d2", date="Fri, 31 Dec 9999 23:59:59 GMT"),
                     rss_item("Epoch dated call", "http://d.example.org/3", "d3", date="Thu, 01 Jan 1970 00:00:00 GMT"),
                     rss_item("Year zero dated call", "http://d.example.org/4", "d4", date="0000-00-00T00:00:00Z"),
                     rss_item("Nonsense dated call", "http://d.example.org/5", "d5", date="the 45th of Smarch"),
                     rss_item("Negative epoch dated call", "http://d.example.org/6", "d6", date="Mon, 01 Jan 1900 00:00:00 GMT"),
                 ])}},
                 [{"id": "case", "path": "feed"}], {"case": 6}, check=_dates_check("case")))
    add(FeedCase("duplicate-guids",
                 {"feed": {"body": rss([
                     rss_item("Shared guid call alpha", "http://g.example.org/a", "same-guid"),
                     rss_item("Shared guid call beta", "http://g.example.org/b", "same-guid"),
                     rss_item("Shared guid call gamma", "http://g.example.org/a", "same-guid"),
                     rss_item("Shared link call delta", "http://g.example.org/shared"),
                     rss_item("Shared link call epsilon", "http://g.example.org/shared"),
                 ])}},
                 [{"id": "case", "path": "feed"}], {"case": 5},
                 note="3 entries share one guid, 2 share one link: 5 distinct entries"))
    add(FeedCase("xss-rss", {"feed": {"body": xss_rss()}}, [{"id": "case", "path": "feed"}],
                 {"case": 4 + len(XSS_LINKS) + 1}))
    add(FeedCase("xss-atom", {"feed": {"body": xss_atom(), "content_type": "application/atom+xml"}},
                 [{"id": "case", "path": "feed"}], {"case": 3}))
    add(FeedCase("xss-html-page",
                 {"page": {"body": ('<html><body><ul><li class="item"><a href="javascript:alert(1)" onclick="x()">'
                                    '<script>alert(1)</script>Page call one</a></li>'
                                    '<li class="item"><a href="data:text/html,x">Page call <img src=x onerror=alert(1)>two</a></li>'
                                    '<li class="item"><a href="/ok">Page &lt;script&gt;call three</a></li></ul></body></html>'),
                           "content_type": "text/html; charset=utf-8"}},
                 [{"id": "case", "path": "page", "kind": "html", "item_selector": "li.item"}], {"case": 1},
                 note="a listing item needs a title and an http(s) link: the two with script links are skipped by design"))
    add(FeedCase("long-titles",
                 {"feed": {"body": rss([rss_item("Long " + "title " * 200_000, "http://l.example.org/1", "l1",
                                                 summary="summary " * 500_000),
                                        rss_item("宇" * 300_000, "http://l.example.org/2", "l2"),
                                        rss_item("x" * 1_000_000, "http://l.example.org/3?" + "q=1&" * 50_000, "l3")])}},
                 [{"id": "case", "path": "feed"}], {"case": 3}, check=_length_check("case")))
    add(FeedCase("nul-bytes",
                 {"feed": {"body": rss([rss_item("NUL\x00in the\x00 title call", "http://n.example.org/1", "n1",
                                                 summary="NUL\x00summary", raw=True),
                                        rss_item("Clean neighbour call", "http://n.example.org/2", "n2")])},
                  "nulbody": {"body": b"\x00" * 2048}},
                 [{"id": "case", "path": "feed"}, {"id": "case-allnul", "path": "nulbody"}],
                 {"case": 2, "case-allnul": 0}, must_fail={"case-allnul": r"(?i)(not a feed|empty|malformed|NUL)"},
                 check=_length_check("case")))
    add(FeedCase("empty-200", {"empty": {"body": b""}, "blank": {"body": b"  \r\n\t "}},
                 [{"id": "case", "path": "empty"}, {"id": "case-blank", "path": "blank"}], {"case": 0, "case-blank": 0},
                 must_fail={"case": r"(?i)empty", "case-blank": r"(?i)empty"}))
    add(FeedCase("html-as-rss",
                 {"page": {"body": b"<!DOCTYPE html><html><head><title>Login</title></head><body><h1>Please log in</h1>"
                                   b"<a href='/item'>item</a></body></html>", "content_type": "application/rss+xml"}},
                 [{"id": "case", "path": "page"}], {"case": 0}, must_fail={"case": r"(?i)(html|not a feed)"}))
    add(FeedCase("json-as-rss", {"page": {"body": b'{"error": "rate limited"}', "content_type": "application/rss+xml"}},
                 [{"id": "case", "path": "page"}], {"case": 0}, must_fail={"case": r"(?i)(not a feed|malformed)"}))
    add(FeedCase("wrong-content-length",
                 {"short": {"handler": lambda h: h.close_after(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                                                               b"Content-Length: 100000\r\n\r\n<rss><channel>")}},
                 [{"id": "case", "path": "short"}], {"case": 0}, must_fail={"case": r".+"},
                 note="connection dropped before Content-Length bytes"))
    add(FeedCase("entity-bomb",
                 {"feed": {"body": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                                   + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
                                   + b']><rss version="2.0"><channel><item><title>&i; bomb call</title><guid>eb1</guid></item>'
                                   + b"<item><title>Entity neighbour call</title><guid>eb2</guid></item></channel></rss>"}},
                 [{"id": "case", "path": "feed"}], {"case": 2}, check=_length_check("case", limit=100_000),
                 note="billion laughs: the entries may load, the entities must not expand"))
    return cases


def _stream_without_length(size: int):
    def handler(h):
        h.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n<rss>")
        chunk = b" " * MiB
        try:
            for _ in range(size // MiB):
                h.write(chunk)
        except OSError:
            pass
        h.close_after()
    return handler


def _register(server: FixtureServer, case: FeedCase) -> dict[str, str]:
    urls = {}
    for path, spec in case.routes.items():
        full = f"/{case.name}/{path}"
        spec = dict(spec)
        if "redirect" in spec:
            status = spec.pop("status", 302)
            urls[path] = server.redirect(full, server.url(f"/{case.name}/{spec.pop('redirect')}"), status=status)
        elif "redirect_to" in spec:
            urls[path] = server.redirect(full, spec.pop("redirect_to"), status=302)
        else:
            urls[path] = server.add(full, **spec)
    return urls


def run_feed_case(server: FixtureServer, case: FeedCase, workdir: Path) -> Row:
    started = time.monotonic()
    home = workdir / case.name
    home.mkdir(parents=True)
    urls = _register(server, case)
    healthy_url = server.add(f"/{case.name}/healthy", body=healthy_feed(case.name))
    sources = [{"id": "healthy", "url": healthy_url}]
    for s in case.sources:
        s = dict(s)
        s["url"] = urls[s.pop("path")]
        sources.append(s)
    catalog = write_catalog(workdir / f"{case.name}.toml", sources)
    row = Row(case.name, "")
    run = cli(home, "collect", catalog=catalog)
    if run.crashed or run.rc not in (0, 3):
        row.crashed = True
        row.outcome = f"collect exit {run.rc}: {_one_line(run.err or run.out)}"
        row.seconds = time.monotonic() - started
        return row
    got = present(home)
    expected = {"healthy": HEALTHY_COUNT, **case.expect}
    row.lost = sum(max(0, want - got.get(sid, 0)) for sid, want in expected.items())
    extra = {sid: got.get(sid, 0) - want for sid, want in expected.items() if got.get(sid, 0) > want}
    if extra:
        row.problems.append(f"more entries than the feed holds: {extra}")
    if got.get("healthy", 0) != HEALTHY_COUNT:
        row.problems.append(f"healthy source loaded {got.get('healthy', 0)} of {HEALTHY_COUNT}")
    reasons = []
    for sid in expected:
        reason = _failed_reason(run, sid)
        pattern = case.must_fail.get(sid)
        if pattern is None and reason is not None and expected[sid]:
            row.problems.append(f"{sid} failed: {reason}")
        if pattern is not None:
            if reason is None:
                row.problems.append(f"{sid} did not report a failure")
            elif not re.search(pattern, reason):
                row.problems.append(f"{sid} failed for an unexpected reason: {reason}")
            else:
                reasons.append(reason)
    if run.rc == 3 and not (case.must_fail or row.problems):
        row.problems.append("exit 3 but every source should have succeeded")
    row.dups = duplicates(home)
    if case.check:
        row.problems += case.check(home)
    digest = cli(home, "digest", catalog=catalog)
    if digest.crashed or digest.rc != 0:
        row.crashed = digest.crashed
        row.problems.append(f"digest exit {digest.rc}: {_one_line(digest.err)}")
    else:
        findings = scan_reports(home / "reports")
        row.unsafe = len(findings)
        row.problems += findings[:5]
    loaded = sum(got.get(sid, 0) for sid in case.expect)
    row.outcome = (f"refused: {_one_line(reasons[0], 60)}" if reasons and not loaded
                   else f"loaded {loaded}" + (f", refused {len(reasons)}" if reasons else ""))
    row.outcome += f"; healthy {got.get('healthy', 0)}/{HEALTHY_COUNT}; collect {run.seconds:.0f} s"
    row.seconds = time.monotonic() - started
    return row


# --------------------------------------------------------------------------------------------------
# Subscribers


SUBSCRIBER_CSV = (
    "email,name,language,organisations\n"
    "alice@example.org,Alice,ja,\n"
    "ALICE@Example.ORG,Alice again,en,\n"                      # duplicate differing in case
    '"bob@example.org","Bob\r\nBcc: victim@evil.example",en,ESA\n'  # CRLF in a quoted name: the line breaks
    "carol@example.org,\"Carol\rX-Injected: 1\",en,\n"           # a lone CR inside a quoted name
    "dave@example.org\r\nBcc: evil@example.org,Dave,en,\n"     # CRLF in an address
    "not-an-address,Nobody,ja,\n"
    "eve@@example.org,Eve,ja,\n"
    "\"unterminated@example.org,Broken,ja,\n"                  # a broken row: unbalanced quote
    "frank@example.org,Frank,xx,\n"                            # bad language
    "grace@example.org,\"Grace \u202eevil\u202c Hopper\",en,CNES;ESA\n"  # bidi override in a name
    "heidi@example.org,Heidi =?utf-8?q?=0D=0ABcc=3A_x=40y.z?=,en,\n"  # encoded-word injection attempt
    "ivan@example.org,Ivan,en,\n"
)
# carol's lone CR becomes a space in her name; the CRLF after dave's address ends his record (CSV
# rules), so "dave@example.org" alone is a valid row and the "Bcc: ..." line after it is refused.
SUBSCRIBERS_OK = {"alice@example.org", "carol@example.org", "dave@example.org", "grace@example.org",
                  "heidi@example.org", "ivan@example.org"}
# Physical lines that must be refused and named: the case duplicate, both halves of bob's CRLF
# name, the "Bcc:" line, the two invalid addresses, the unbalanced quote, the bad language.
SUBSCRIBERS_REFUSED = [3, 4, 5, 8, 9, 10, 11, 12]


def run_subscribers(server: FixtureServer, workdir: Path) -> Row:
    started = time.monotonic()
    home = workdir / "subscribers"
    home.mkdir()
    row = Row("subscribers-csv-and-headers", "")
    path = workdir / "subscribers.csv"
    path.write_bytes(SUBSCRIBER_CSV.encode("utf-8"))
    imported = cli(home, "subscribers", "import", str(path), "--consent", "bench")
    runs = [imported]
    if imported.rc not in (0, 3):
        row.problems.append(f"import exit {imported.rc}: {_one_line(imported.err)}")
    refused_rows = sorted({int(n) for n in re.findall(r"^\s*row (\d+):", imported.out, re.MULTILINE)})
    got = {r[0]: r[1] for r in query(home, "SELECT email, name FROM subscribers")}
    missing = SUBSCRIBERS_OK - set(got)
    row.lost = len(missing)
    if missing:
        row.problems.append(f"valid rows not imported: {sorted(missing)}")
    unexpected = set(got) - SUBSCRIBERS_OK
    if unexpected:
        row.problems.append(f"bad rows imported: {sorted(unexpected)}")
    row.dups = len(got) - len({e.lower() for e in got})
    for email_, name in got.items():
        if re.search(r"[\r\n\x00\u202e\u202c]", (name or "") + email_):
            row.problems.append(f"unsafe characters stored for {email_!r}: {name!r}")
    if refused_rows != SUBSCRIBERS_REFUSED:
        row.problems.append(f"refused rows named {refused_rows}, expected {SUBSCRIBERS_REFUSED}")
    # One more import of the same people with other cases: updates, never a second subscriber.
    path2 = workdir / "subscribers2.csv"
    path2.write_text("email,name,language,organisations\nIvan@EXAMPLE.org,Ivan,en,\n", encoding="utf-8")
    runs.append(cli(home, "subscribers", "add", "mallory@example.org\r\nBcc: x@evil.example", "--name", "M"))
    if runs[-1].rc != 2:
        row.problems.append(f"`subscribers add` with CRLF in the address: exit {runs[-1].rc}, expected 2")
    runs.append(cli(home, "subscribers", "import", str(path2), "--consent", "bench"))
    if len(query(home, "SELECT id FROM subscribers")) != len(SUBSCRIBERS_OK):
        row.dups += 1
        row.problems.append("a case variant created a second subscriber")
    # Send to the outbox: every message has exactly the one recipient, no injected header.
    catalog = write_catalog(workdir / "subscribers.toml", [{"id": "healthy", "url": server.add(
        "/subscribers/healthy", body=xss_rss() )}])
    runs.append(cli(home, "collect", catalog=catalog))
    runs.append(cli(home, "digest", catalog=catalog))
    runs.append(cli(home, "send", catalog=catalog))
    outbox = home / "outbox"
    messages = sorted(outbox.glob("*.eml"))
    recipients = []
    for msg_path in messages:
        raw = msg_path.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        to = [a.addr_spec for a in msg["To"].addresses] if msg["To"] else []
        recipients += to
        names = [n.lower() for n in msg.keys()]
        if len(to) != 1 or any(n in names for n in ("bcc", "cc", "x-injected")):
            row.problems.append(f"{msg_path.name}: header injection (To={to}, headers={names})")
        for header_line in raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n"):
            if re.match(rb"(?i)(bcc|x-injected):", header_line):
                row.problems.append(f"{msg_path.name}: injected header line {header_line[:60]!r}")
    if sorted(recipients) != sorted(SUBSCRIBERS_OK):
        row.problems.append(f"messages went to {sorted(recipients)}, expected {sorted(SUBSCRIBERS_OK)}")
    row.unsafe = len(scan_messages(outbox))
    row.problems += scan_messages(outbox)[:3]
    row.crashed = any(r.crashed for r in runs)
    row.outcome = (f"{len(got)} imported, rows {refused_rows} refused and named; {len(messages)} messages, "
                   "1 recipient each")
    row.seconds = time.monotonic() - started
    return row


# --------------------------------------------------------------------------------------------------
# SMTP faults


class _SmtpHandler:
    """aiosmtpd handler: records accepted messages; can refuse one address and drop connections."""

    def __init__(self, reject: set[str] = frozenset(), drop_after: int | None = None):
        self.reject = {r.lower() for r in reject}
        self.drop_after = drop_after  # accept this many, then drop every connection at MAIL FROM
        self.accepted: list[str] = []
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            dropping = self.drop_after is not None and len(self.accepted) >= self.drop_after
        if dropping:
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.accepted += [r.lower() for r in envelope.rcpt_tos]
        return "250 Message accepted"


def smtp_server(handler: _SmtpHandler):
    from aiosmtpd.controller import Controller

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def _digest_home(server: FixtureServer, workdir: Path, name: str, emails: list[str],
                 with_items: bool = True) -> tuple[Path, Path]:
    home = workdir / name
    home.mkdir()
    csv_path = workdir / f"{name}.csv"
    csv_path.write_text("email,name,language\n" + "".join(f"{e},Person {i},{'ja' if i % 2 else 'en'}\n"
                                                           for i, e in enumerate(emails)), encoding="utf-8")
    catalog = write_catalog(workdir / f"{name}.toml", [{"id": "healthy", "url": server.add(
        f"/{name}/healthy", body=healthy_feed(name))}])
    steps = [("subscribers", "import", str(csv_path), "--consent", "bench"), ("collect",), ("digest",)]
    for args in steps if with_items else [steps[0], steps[2]]:
        run = cli(home, *args, catalog=catalog)
        if run.rc != 0:
            raise RuntimeError(f"setup of {name}: {' '.join(args)} exit {run.rc}: {_one_line(run.err or run.out)}")
    return home, catalog


def run_smtp_drop(server: FixtureServer, workdir: Path, count: int = 12, drop_after: int = 5,
                  with_items: bool = True) -> Row:
    started = time.monotonic()
    row = Row("smtp-drops-connection", "")
    emails = [f"reader{i:02d}@example.org" for i in range(count)]
    home, catalog = _digest_home(server, workdir, "smtp-drop", emails, with_items)
    handler = _SmtpHandler(drop_after=drop_after)
    controller = smtp_server(handler)
    url = f"smtp://127.0.0.1:{controller.port}"
    first = cli(home, "send", catalog=catalog, SPACEDIGEST_SMTP_URL=url)
    after_first = list(handler.accepted)
    handler.drop_after = None  # the server is back
    second = cli(home, "send", catalog=catalog, SPACEDIGEST_SMTP_URL=url)
    third = cli(home, "send", catalog=catalog, SPACEDIGEST_SMTP_URL=url)  # nothing left to send
    controller.stop()
    counts = {e: handler.accepted.count(e) for e in emails}
    row.lost = sum(1 for e in emails if counts[e] == 0)
    row.dups = sum(c - 1 for c in counts.values() if c > 1)
    row.crashed = any(r.crashed for r in (first, second, third))
    if first.rc != 3:
        row.problems.append(f"interrupted send exit {first.rc}, expected 3: {_one_line(first.out + first.err)}")
    sent_rows = query(home, "SELECT count(*) FROM deliveries WHERE status = 'sent'")[0][0]
    if sent_rows != count:
        row.problems.append(f"{sent_rows} deliveries recorded, expected {count}")
    if "sent 0" not in third.out:
        row.problems.append(f"third send was not a no-op: {_one_line(third.out)}")
    row.outcome = (f"1st send {len(after_first)} then dropped; 2nd {len(handler.accepted) - len(after_first)};"
                   f" 3rd 0; {count} recipients exactly once" if not (row.lost or row.dups) else
                   f"per-recipient counts {sorted(set(counts.values()))}")
    row.seconds = time.monotonic() - started
    return row


def run_smtp_reject(server: FixtureServer, workdir: Path, count: int = 6, with_items: bool = True) -> Row:
    started = time.monotonic()
    row = Row("smtp-rejects-recipient", "")
    emails = [f"member{i}@example.org" for i in range(count)]
    bad = emails[2]
    home, catalog = _digest_home(server, workdir, "smtp-reject", emails, with_items)
    handler = _SmtpHandler(reject={bad})
    controller = smtp_server(handler)
    url = f"smtp://127.0.0.1:{controller.port}"
    first = cli(home, "send", catalog=catalog, SPACEDIGEST_SMTP_URL=url)
    second = cli(home, "send", catalog=catalog, SPACEDIGEST_SMTP_URL=url)
    controller.stop()
    good = [e for e in emails if e != bad]
    row.lost = sum(1 for e in good if e not in handler.accepted)
    row.dups = len(handler.accepted) - len(set(handler.accepted))
    row.crashed = first.crashed or second.crashed
    status = dict(query(home, "SELECT s.email, d.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"))
    if status.get(bad) != "rejected":
        row.problems.append(f"the 550 for {bad} was not recorded (status {status.get(bad)})")
    if bad not in first.out:
        row.problems.append("the refused recipient was not named in the summary")
    if any(status.get(e) != "sent" for e in good):
        row.problems.append(f"others not all recorded as sent: {status}")
    row.outcome = f"{len(set(handler.accepted))} delivered, {bad} rejected 550 and recorded; re-send sends 0"
    row.seconds = time.monotonic() - started
    return row


# --------------------------------------------------------------------------------------------------
# Warehouse faults


def _holder(path: Path, read_only: bool) -> subprocess.Popen:
    """Another process holding a DuckDB connection on `path` until killed."""
    code = (f"import duckdb, sys, time\ncon = duckdb.connect({str(path)!r}, read_only={read_only})\n"
            "con.execute('SELECT count(*) FROM items').fetchall()\nprint('held', flush=True)\ntime.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "held" not in line:
        proc.kill()
        raise RuntimeError(f"holder could not open {path}: {proc.stderr.read()[-300:]}")
    return proc


def _snapshot(home: Path) -> dict[str, int]:
    return {t: query(home, f"SELECT count(*) FROM {t}")[0][0] for t in ("items", "item_sources", "fetches", "subscribers", "digests")}


def run_held_warehouse(server: FixtureServer, workdir: Path) -> Row:
    started = time.monotonic()
    row = Row("warehouse-held-by-another-process", "")
    home = workdir / "held"
    home.mkdir()
    feed_path = "/held/feed"
    catalog = write_catalog(workdir / "held.toml", [{"id": "healthy", "url": server.add(feed_path, body=healthy_feed("held"))}])
    runs = [cli(home, "collect", catalog=catalog)]
    before = _snapshot(home)
    server.set(feed_path, body=healthy_feed("held") .replace(b"</channel>", rss_item(
        "held second-run call", "http://healthy.example.org/held/new", "held-new").encode() + b"</channel>"))
    # 1. a writer elsewhere holds the main file: collect must say so in one line and change nothing.
    holder = _holder(home / "warehouse.duckdb", read_only=False)
    blocked = cli(home, "collect", catalog=catalog, timeout=120)
    holder.kill()
    holder.wait()
    runs.append(blocked)
    message = next((line for line in blocked.err.splitlines() if line.startswith("spacedigest:")), blocked.err.strip())
    if blocked.rc not in (1, 3) or not re.search(r"(?i)(warehouse|lock|in use|another)", blocked.text):
        row.problems.append(f"held main file: exit {blocked.rc}, message {_one_line(blocked.text, 150)!r}")
    if blocked.err.count("spacedigest:") != 1:
        row.problems.append(f"held main file: not one clear line: {_one_line(blocked.err, 200)}")
    if _snapshot(home) != before:
        row.problems.append("held main file: the warehouse changed")
    # 2. a staff session holds the published copy read-only: collect must work, the staff keep reading.
    staff = _holder(home / "staff" / "warehouse.duckdb", read_only=True)
    ok = cli(home, "collect", catalog=catalog)
    runs.append(ok)
    q = cli(home, "query", "SELECT count(*) AS n FROM items", "--format", "json")
    runs.append(q)
    staff.kill()
    staff.wait()
    if ok.rc != 0:
        row.problems.append(f"staff copy held: collect exit {ok.rc}: {_one_line(ok.err or ok.out)}")
    after = _snapshot(home)
    row.lost = max(0, before["items"] + 1 - after["items"])
    row.dups = duplicates(home)
    try:
        staff_n = json.loads(q.out)[0]["n"]
    except (ValueError, IndexError, KeyError):
        staff_n = None
    if staff_n != after["items"]:
        row.problems.append(f"query after the run saw {staff_n} items, the warehouse holds {after['items']}")
    row.crashed = any(r.crashed for r in runs)
    row.outcome = f"main held: exit {blocked.rc} {_one_line(message, 70)!r}; staff copy held: collect ok"
    row.seconds = time.monotonic() - started
    return row


def run_old_schema(server: FixtureServer, workdir: Path) -> Row:
    started = time.monotonic()
    row = Row("old-schema-migrated", "")
    home = workdir / "oldschema"
    home.mkdir()
    sql = (ROOT / "warehouse" / "migrations" / "001_init.sql").read_text(encoding="utf-8")
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute(sql)
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())")
    con.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'init')")
    now = datetime.now(timezone.utc)
    con.execute("INSERT INTO sources (id, organisation, kind, url) VALUES ('legacy', 'CNES', 'feed', 'http://legacy.example.org/')")
    for i in range(5):
        con.execute("INSERT INTO items (id, title, url, organisation, source_id, published_at, first_seen_at, updated_at, "
                    "content_hash) VALUES (?, ?, ?, 'CNES', 'legacy', ?, ?, ?, ?)",
                    [f"legacy{i}", f"Legacy item {i} kept across the migration", f"http://legacy.example.org/{i}",
                     now, now, now, f"h{i}"])
        con.execute("INSERT INTO item_sources (source_id, entry_key, item_id, first_seen_at, last_seen_at) "
                    "VALUES ('legacy', ?, ?, ?, ?)", [f"k{i}", f"legacy{i}", now, now])
    con.execute("INSERT INTO subscribers (email, name, token, created_at) VALUES ('old@example.org', 'Old', 't0', ?)", [now])
    con.close()
    catalog = write_catalog(workdir / "oldschema.toml", [{"id": "healthy", "url": server.add("/oldschema/healthy", body=healthy_feed("oldschema"))}])
    run = cli(home, "collect", catalog=catalog)
    row.crashed = run.crashed
    if run.rc != 0:
        row.problems.append(f"collect on an old warehouse: exit {run.rc}: {_one_line(run.err or run.out)}")
    versions = [r[0] for r in query(home, "SELECT version FROM schema_migrations ORDER BY version")]
    latest = max(int(p.name.split("_")[0]) for p in (ROOT / "warehouse" / "migrations").glob("[0-9]*_*.sql"))
    if versions[-1:] != [latest]:
        row.problems.append(f"schema versions {versions}, expected up to {latest}")
    kept = query(home, "SELECT count(*) FROM items WHERE source_id = 'legacy'")[0][0]
    row.lost = 5 - kept + (1 - query(home, "SELECT count(*) FROM subscribers")[0][0])
    got = present(home)
    row.lost += max(0, HEALTHY_COUNT - got.get("healthy", 0))
    row.dups = duplicates(home)
    q = cli(home, "query", "SELECT count(*) AS n FROM open_calls", "--format", "json")
    if q.rc != 0:
        row.problems.append(f"view from a later migration not queryable: {_one_line(q.err)}")
    row.outcome = f"v{versions[0]} -> v{versions[-1]} in place; {kept}/5 old items, subscriber kept"
    row.seconds = time.monotonic() - started
    return row


def run_unwritable_reports(server: FixtureServer, workdir: Path) -> Row:
    started = time.monotonic()
    row = Row("reports-folder-unwritable", "")
    home = workdir / "unwritable"
    home.mkdir()
    catalog = write_catalog(workdir / "unwritable.toml", [{"id": "healthy", "url": server.add("/unwritable/healthy", body=healthy_feed("unwritable"))}])
    runs = [cli(home, "collect", catalog=catalog)]
    before = _snapshot(home)
    shutil.rmtree(home / "reports", ignore_errors=True)
    (home / "reports").write_text("a file where the reports folder should be\n")  # root ignores chmod; this is real
    run = cli(home, "digest", catalog=catalog)
    runs.append(run)
    lines = run.err.strip().splitlines()
    if run.rc != 1 or len(lines) != 1 or "reports" not in run.err:
        row.problems.append(f"expected one clear line naming the reports folder and exit 1; got exit {run.rc}: {run.err.strip()[:200]!r}")
    if _snapshot(home) != before:
        row.problems.append(f"warehouse changed by a failed digest: {before} -> {_snapshot(home)}")
    (home / "reports").unlink()
    again = cli(home, "digest", catalog=catalog)
    runs.append(again)
    if again.rc != 0:
        row.problems.append(f"digest after fixing the folder: exit {again.rc}: {_one_line(again.err)}")
    row.crashed = any(r.crashed for r in runs)
    row.dups = duplicates(home)
    row.outcome = f"exit {run.rc}: {_one_line(lines[-1] if lines else '', 80)!r}; warehouse intact"
    row.seconds = time.monotonic() - started
    return row


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def run_disk_full(server: FixtureServer, workdir: Path) -> Row:
    """RLIMIT_FSIZE stands in for a full disk: every write past the limit fails (EFBIG) as ENOSPC would."""
    started = time.monotonic()
    row = Row("disk-full-during-digest-and-collect", "")
    home = workdir / "diskfull"
    home.mkdir()
    feed_path = "/diskfull/healthy"
    catalog = write_catalog(workdir / "diskfull.toml", [{"id": "healthy", "url": server.add(feed_path, body=healthy_feed("diskfull"))}])
    runs = [cli(home, "collect", catalog=catalog)]
    before = _snapshot(home)
    size = (home / "warehouse.duckdb").stat().st_size
    results = []
    # The digest writes reports (small) and the warehouse: a limit below the warehouse size hits both.
    for label, args in (("digest", ("digest",)), ("collect", ("collect",))):
        if label == "collect":
            server.set(feed_path, body=many_entries(3000, "diskfull"))
        run = cli(home, *args, catalog=catalog, preexec=_file_size_limit(size // 2))
        runs.append(run)
        lines = run.err.strip().splitlines()
        results.append(f"{label} exit {run.rc}")
        if run.rc not in (1, 3) or len(lines) > 2:
            row.problems.append(f"{label} with a full disk: exit {run.rc}: {_one_line(run.err or run.out, 200)!r}")
        try:
            now = _snapshot(home)
        except duckdb.Error as exc:
            row.problems.append(f"warehouse unreadable after {label} on a full disk: {_one_line(str(exc))}")
            break
        if now["items"] < before["items"]:
            row.lost += before["items"] - now["items"]
    # Space is back: everything works and nothing was lost.
    for args in (("collect",), ("digest",)):
        run = cli(home, *args, catalog=catalog)
        runs.append(run)
        if run.rc != 0:
            row.problems.append(f"{args[0]} after space came back: exit {run.rc}: {_one_line(run.err)}")
    got = query(home, "SELECT count(*) FROM items WHERE title LIKE 'diskfull entry number %'")[0][0]
    row.lost += max(0, 3000 - got)
    row.dups = duplicates(home)
    row.crashed = any(r.crashed for r in runs)
    row.outcome = "; ".join(results) + f"; afterwards {got}/3000 loaded"
    row.seconds = time.monotonic() - started
    return row


def _open_fds(pid: int) -> list[str]:
    try:
        return [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return []


def run_kill_during_load(server: FixtureServer, workdir: Path, offset: float, entries: int = 10_000) -> Row:
    """A first run loads `entries` (committed); the feed then grows to twice that and the second run
    is SIGKILLed `offset` s after it opened the warehouse for its load (so after the fetch). The
    committed items must survive the kill; the third run must complete with no duplicate."""
    started = time.monotonic()
    tag = f"kill{offset:g}"
    row = Row(f"sigkill-during-load+{offset:g}s", "")
    home = workdir / tag
    home.mkdir()
    path = f"/{tag}/big"
    catalog = write_catalog(workdir / f"{tag}.toml", [
        {"id": "big", "url": server.add(path, body=many_entries(entries, tag))},
        {"id": "healthy", "url": server.add(f"/{tag}/healthy", body=healthy_feed(tag))}])
    first = cli(home, "collect", catalog=catalog)
    committed = query(home, "SELECT count(*) FROM items")[0][0]
    server.set(path, body=many_entries(2 * entries, tag))
    hits_before = server.hits[path]
    proc = subprocess.Popen([CLI, "collect"], env=env_for(home, catalog), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    warehouse = str(home / "warehouse.duckdb")
    phase, deadline = "startup", time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if phase == "startup" and server.hits[path] > hits_before:
            phase = "fetched"  # the health sync before the fetch has closed the warehouse by now
        elif phase == "fetched" and warehouse in _open_fds(proc.pid):
            time.sleep(offset)
            os.killpg(proc.pid, signal.SIGKILL)
            phase = "killed"
            break
        time.sleep(0.005)
    proc.communicate()
    if phase != "killed" or proc.returncode != -signal.SIGKILL:
        row.problems.append(f"not killed during the load (phase {phase}, exit {proc.returncode}): the case proves nothing")
    # What survived the kill, read from a copy so the WAL replay does not touch the evidence.
    evidence = workdir / f"{tag}-copy"
    evidence.mkdir()
    for f in home.glob("warehouse.duckdb*"):
        shutil.copy(f, evidence / f.name)
    try:
        survived = _snapshot(evidence)["items"]
    except duckdb.Error as exc:
        survived = 0
        row.problems.append(f"warehouse unreadable right after SIGKILL: {_one_line(str(exc))}")
    if survived < committed:
        row.problems.append(f"committed items lost by the kill: {committed} before, {survived} after")
    rerun = cli(home, "collect", catalog=catalog)
    row.crashed = first.crashed or rerun.crashed
    if first.rc != 0 or rerun.rc != 0:
        row.problems.append(f"collect exits {first.rc} then {rerun.rc}: {_one_line(rerun.err or rerun.out)}")
    got = present(home)
    row.lost = max(0, 2 * entries - got.get("big", 0)) + max(0, HEALTHY_COUNT - got.get("healthy", 0))
    row.dups = duplicates(home)
    items = query(home, "SELECT count(*) FROM items")[0][0]
    if items != 2 * entries + HEALTHY_COUNT:
        row.problems.append(f"{items} items, expected {2 * entries + HEALTHY_COUNT}")
    row.outcome = (f"{committed} committed; killed in load with {survived} kept; next run {items} items, "
                   f"exit {rerun.rc}")
    row.seconds = time.monotonic() - started
    return row


# --------------------------------------------------------------------------------------------------
# Main


def all_jobs(server: FixtureServer, workdir: Path) -> list[tuple[str, Callable[[], Row]]]:
    jobs: list[tuple[str, Callable[[], Row]]] = []
    cases = feed_cases()
    # The drip case waits out the fetch deadline: start it first so the rest runs meanwhile.
    cases.sort(key=lambda c: not c.name.startswith("drip"))
    for case in cases:
        jobs.append((case.name, lambda c=case: run_feed_case(server, c, workdir)))
    jobs += [
        ("subscribers-csv-and-headers", lambda: run_subscribers(server, workdir)),
        ("smtp-drops-connection", lambda: run_smtp_drop(server, workdir)),
        ("smtp-rejects-recipient", lambda: run_smtp_reject(server, workdir)),
        ("warehouse-held-by-another-process", lambda: run_held_warehouse(server, workdir)),
        ("old-schema-migrated", lambda: run_old_schema(server, workdir)),
        ("reports-folder-unwritable", lambda: run_unwritable_reports(server, workdir)),
        ("disk-full-during-digest-and-collect", lambda: run_disk_full(server, workdir)),
    ]
    for offset in (0.0, 0.4, 1.5):
        jobs.append((f"sigkill-during-load+{offset:g}s", lambda o=offset: run_kill_during_load(server, workdir, o)))
    return jobs


def _safe(name: str, job: Callable[[], Row]) -> Row:
    try:
        return job()
    except Exception as exc:  # noqa: BLE001 - a broken case is reported as such, never hides the others
        return Row(name, f"bench error: {type(exc).__name__}: {_one_line(str(exc), 120)}", crashed=True,
                   problems=["the case itself failed to run"])


def print_table(rows: list[Row], verbose: bool = True) -> None:
    width = max(len(r.case) for r in rows)
    print(f"{'case':<{width}}  {'ok':<4} {'lost':>5} {'dups':>5} {'unsafe':>6}  outcome")
    print("-" * (width + 80))
    for r in rows:
        flag = "ok" if r.ok else ("CRASH" if r.crashed else "FAIL")
        print(f"{r.case:<{width}}  {flag:<4} {r.lost:>5} {r.dups:>5} {r.unsafe:>6}  {r.outcome}")
        if verbose and not r.ok:
            for p in r.problems[:6]:
                print(f"{'':<{width}}        ! {_one_line(p, 160)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="CASE", help="run only this case (repeatable; prefix match)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--jobs", type=int, default=4, help="cases run at once")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes (path printed)")
    parser.add_argument("--cold", action="store_true",
                        help="no shared Prefect server: each collect starts its own temporary one (use --jobs 1)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="spacedigest-hostile-"))
    started = time.monotonic()
    prefect = None
    if not args.cold and not args.list:
        # One server shared by every case: without it every `collect` starts Prefect's temporary
        # server, which takes 10+ s and times out when several start at once.
        prefect, PREFECT_API["url"] = prefect_server.start(workdir / "prefect-server")
        print(f"prefect server ready ({time.monotonic() - started:.0f} s)", flush=True)
    try:
        rows = _run_all(args, workdir)
    finally:
        if prefect is not None:
            prefect_server.stop(prefect)
    if rows is None:
        return 0
    if args.keep:
        print(f"homes kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    rows.sort(key=lambda r: r.case)
    print_table(rows)
    crashes = sum(r.crashed for r in rows)
    handled = sum(r.ok for r in rows)
    lost, dups, unsafe = (sum(r.lost for r in rows), sum(r.dups for r in rows), sum(r.unsafe for r in rows))
    met = handled == len(rows) and not (crashes or lost or dups or unsafe)
    print(f"\ngoal {'MET' if met else 'MISSED'}: {handled}/{len(rows)} cases handled, {crashes} crashes, "
          f"{lost} lost, {dups} duplicates, {unsafe} unsafe ({time.monotonic() - started:.0f} s)")
    return 0 if met else 1


def _run_all(args, workdir: Path) -> list[Row] | None:
    with FixtureServer() as server:
        jobs = all_jobs(server, workdir)
        if args.list:
            print("\n".join(name for name, _ in jobs))
            return None
        if args.only:
            jobs = [(n, j) for n, j in jobs if any(n.startswith(o) for o in args.only)]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(_safe, name, job) for name, job in jobs]
            rows = [f.result() for f in futures]
    return rows


if __name__ == "__main__":
    sys.exit(main())
