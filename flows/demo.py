"""`spacedigest demo`: the real pipeline on the bundled sample week, offline, in a home of its own.

Wiring only. The sample (sources.sample, files in sources/sample_week/) is served on loopback by
flows.loopback; the real collect and weekly flows read it through a catalog written into the demo's
home; the outbox receives the mails; nothing here parses, classifies or renders.

The demo's home (default `data/demo/`) is wiped and rebuilt on every run, so two runs give the same
result; it carries a marker file, and a folder without one is never wiped (it may be someone's
warehouse). The user's own settings (`SPACEDIGEST_*`: their warehouse, SMTP server, staff address,
catalog) are left out of the demo's environment: the sample is never mailed to anyone.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping

from spacedigest.flows.loopback import SampleSite, serve_folder
from spacedigest.sources import sample

MARKER = ".spacedigest-demo"
SENDER = "spacedigest demo <digest@example.invalid>"
# What every mail must show (特定電子メール法: sender, postal address, contact, a reachable opt-out),
# as sample values; versions with the web app (issue 13) refuse to send without them.
SAMPLE_LEGAL = {"SPACEDIGEST_SENDER_NAME": "宇宙ビジネス協会（デモ） / Space Business Association (demo)",
                "SPACEDIGEST_POSTAL_ADDRESS": "〒103-0000 東京都中央区日本橋（デモ用の架空の住所）",
                "SPACEDIGEST_CONTACT_EMAIL": "contact@example.invalid",
                "SPACEDIGEST_SITE_URL": "https://spacedigest.example.invalid/"}
# The user's settings that only tune how the demo runs (never where data or mail goes).
KEPT_SETTINGS = frozenset({"SPACEDIGEST_DEBUG", "SPACEDIGEST_WORKERS", "SPACEDIGEST_PER_HOST",
                           "SPACEDIGEST_FETCH_DEADLINE"})
# The staff query shown at the end (README: "Questions staff actually ask").
STAFF_QUERY = ("select organisation, eligibility, deadline, title from open_to_japan "
               "order by deadline nulls last, organisation")


class DemoError(Exception):
    """The demo cannot run (one line)."""


def demo_environment(environ: Mapping[str, str], home: Path, catalog: Path) -> dict[str, str]:
    """The demo's environment: the user's, without their spacedigest settings, plus the demo's home,
    catalog, sender and sample legal footer (mail goes to the outbox, never to an SMTP server)."""
    env = {k: v for k, v in environ.items() if not k.startswith("SPACEDIGEST_") or k in KEPT_SETTINGS}
    env.update(SAMPLE_LEGAL)
    env.update(SPACEDIGEST_HOME=str(home), SPACEDIGEST_SOURCES=str(catalog), SPACEDIGEST_FROM=SENDER)
    return env


def prepare_home(home: Path, *, user_home: Path) -> None:
    """An empty demo home with its marker: the previous demo's is wiped; anything else is refused."""
    home = home.resolve()
    if home == user_home.resolve() or home in user_home.resolve().parents:
        raise DemoError(f"{home} is (or holds) the warehouse of SPACEDIGEST_HOME; give the demo another --home")
    if home.exists():
        if not home.is_dir():
            raise DemoError(f"{home} is not a folder; give the demo another --home")
        if any(home.iterdir()) and not (home / MARKER).exists():
            raise DemoError(f"{home} holds files the demo did not make; move them or give another --home")
        try:
            shutil.rmtree(home)
        except OSError as exc:
            raise DemoError(f"cannot clear the previous demo in {home}: {exc.strerror or exc}") from None
    try:
        home.mkdir(parents=True)
        (home / MARKER).write_text("Made by `spacedigest demo`, which wipes and rebuilds this folder on every run.\n",
                                   encoding="utf-8")
    except OSError as exc:
        raise DemoError(f"cannot create the demo's home {home}: {exc.strerror or exc}") from None


@dataclass
class SampleWeek:
    """The sample week being served; `next_capture()` moves on to the sites' second state."""

    site: SampleSite
    home: Path
    catalog: Path
    today: date

    def next_capture(self) -> None:
        """Later the same week: one call's deadline has moved; every other page is unchanged."""
        self.site.publish(sample.render_site(self.today, extended=True))


def import_subscribers(home: Path, now: datetime) -> int:
    """The two sample subscribers (ja, en), through the same import as `spacedigest subscribers import`."""
    from spacedigest.reports import subscribers as subs
    from spacedigest.warehouse import db, records

    parsed, errors = subs.parse_csv(subs.decode_csv(sample.subscribers_csv()))
    if errors:
        raise DemoError(f"the sample subscribers do not import: {errors[0]}")
    with db.writer(home) as con:
        for sub in parsed:
            records.add_subscriber(con, sub, now=now)
    return len(parsed)


@contextlib.contextmanager
def sample_week(home: Path, *, user_home: Path) -> Iterator[SampleWeek]:
    """Within: a fresh demo home with the sample subscribers, the sample site served on loopback
    and the environment pointing the flows at both. The environment is restored after."""
    from spacedigest.reports.digest import jst_date

    now = datetime.now(timezone.utc)
    today = jst_date(now)
    home = home.resolve()
    prepare_home(home, user_home=user_home)
    saved = dict(os.environ)
    with SampleSite(sample.render_site(today)) as site:
        catalog = home / "catalog.toml"
        catalog.write_text(sample.render_catalog(site.base_url), encoding="utf-8")
        os.environ.clear()
        os.environ.update(demo_environment(saved, home, catalog))
        try:
            import_subscribers(home, now)
            yield SampleWeek(site, home, catalog, today)
        finally:
            os.environ.clear()
            os.environ.update(saved)


# ---------------------------------------------------------------- where to look

def shown(path: Path | str) -> str:
    """A path as the user typed it: relative to the current folder when inside it."""
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def _command() -> str:
    """How the user runs spacedigest here (".venv/bin/spacedigest" after `make demo`)."""
    script = Path(sys.argv[0])
    if script.name == "spacedigest" and shutil.which("spacedigest") != str(script.resolve()):
        return shown(script)
    return "spacedigest"


def where_to_look(home: Path, digest_paths: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Lines telling where the demo's results are, and a staff query with its result."""
    from spacedigest.warehouse import query

    site = digest_paths.get("site", {})
    mails = sorted((home / "outbox").glob("*.eml"))
    lines = ["Where to look:",
             f"  digest (ja, HTML)  {shown(digest_paths['ja']['html'])}",
             f"  digest (en, HTML)  {shown(digest_paths['en']['html'])}",
             f"  mails (outbox)     {shown(mails[0]) if mails else '(none)'}"]
    lines += [f"                     {shown(m)}" for m in mails[1:]]
    lines += [f"  archive            {shown(site.get('index', home / 'reports/site/index.html'))}",
              f"  calendar           {shown(site.get('calendar', home / 'reports/site/calendar.ics'))}",
              f"  sample catalog     {shown(home / 'catalog.toml')} (the sample sites: {shown(sample.SITE_DIR)})",
              "",
              "What a Japanese company may apply to now (a staff query on the demo's warehouse):",
              f"  SPACEDIGEST_HOME={shown(home)} {_command()} query \"{STAFF_QUERY}\""]
    lines += ["  " + row for row in query.run(home, STAFF_QUERY, fmt="table").splitlines()]
    return lines


# ---------------------------------------------------------------- --open

def web_app_available() -> bool:
    """Whether this version has the subscribers' web app (`spacedigest web`, issue 13)."""
    return importlib.util.find_spec("spacedigest.reports.web") is not None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _web_app(home: Path) -> Iterator[str | None]:
    """`spacedigest web` on the demo's home, on loopback, while within; yields its URL (None when this
    version has no web app, or it did not start)."""
    if not web_app_available():
        yield None
        return
    from spacedigest.flows.tempserver import _die_with_parent

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**demo_environment(os.environ, home, home / "catalog.toml"), "SPACEDIGEST_WEB_HOST": "127.0.0.1",
           "SPACEDIGEST_WEB_PORT": str(port), "SPACEDIGEST_SITE_URL": url}
    process = subprocess.Popen([sys.executable, "-m", "spacedigest.flows.cli", "web"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=1).close()
                break
            time.sleep(0.2)
        yield url if process.poll() is None else None
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_until_interrupted(home: Path, say=print) -> None:
    """Serve the demo's archive (and the web app, when this version has it) on loopback until Ctrl-C."""
    site = home / "reports" / "site"
    stop = threading.Event()
    # Ctrl-C (also when started from a script, where SIGINT may come in ignored) and `kill` end it cleanly.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with serve_folder(site) as archive, _web_app(home) as web:
            say(f"demo: the archive is served at {archive.url('/index.html')}")
            if web:
                say(f"demo: the subscribers' web app is served at {web}")
            elif not web_app_available():
                say("demo: (the subscribers' web app, `spacedigest web`, is not in this version)")
            say("demo: Ctrl-C to stop")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say("demo: stopped")
