"""Each subscriber gets each digest exactly once, whatever runs at the same time; a change the web app
answered for is honoured by the next send, also while a collect is loading and also when the web
process is killed right after answering. Real `spacedigest` processes, a real SMTP server (aiosmtpd),
real SIGKILLs."""
from __future__ import annotations

import collections
import csv
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from spacedigest.warehouse import db
from tests.conftest import LEGAL_ENV
from tests.webapp import WebProcess, client

pytestmark = pytest.mark.slow

EXE = str(Path(sys.executable).with_name("spacedigest"))
PEOPLE = 40


def env_for(home: Path, smtp_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACEDIGEST_")}
    env.update(LEGAL_ENV, SPACEDIGEST_HOME=str(home), SPACEDIGEST_SMTP_URL=smtp_url,
               SPACEDIGEST_SITE_URL="https://digest.example.org/", **extra)
    return env


def run(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def with_subscribers_and_a_digest(tmp_path, smtp_url: str, n: int = PEOPLE, week: str | None = None) -> dict:
    env = env_for(tmp_path / "home", smtp_url)
    people = tmp_path / "people.csv"
    with people.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "language"])
        for i in range(n):
            writer.writerow([f"member{i:02d}@example.jp", f"会員 {i}", "ja" if i % 3 else "en"])
    imported = run(env, "subscribers", "import", str(people), "--consent", "2026年総会 申込書（書面で同意）")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert run(env, "digest", *(("--week", week) if week else ())).returncode == 0
    return env


def assert_exactly_once(box, n: int = PEOPLE) -> None:
    counts = collections.Counter(box.recipients)
    assert sorted(counts) == sorted(f"member{i:02d}@example.jp" for i in range(n)), "somebody was skipped"
    twice = {who: c for who, c in counts.items() if c > 1}
    assert not twice, f"sent more than once: {twice}"


def test_two_sends_at_once_mail_everyone_exactly_once(tmp_path, mail_server):
    smtp_url, box = mail_server
    box.delay = 0.03  # ~1.2 s per send alone: the two overlap for certain
    env = with_subscribers_and_a_digest(tmp_path, smtp_url)
    started = time.monotonic()
    sends = [subprocess.Popen([EXE, "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in sends]
    seconds = time.monotonic() - started
    assert [p.returncode for p in sends] == [0, 0], outputs
    assert_exactly_once(box)
    sent = [int(re.search(r"sent (\d+),", out).group(1)) for out, _ in outputs]
    assert sum(sent) == PEOPLE and min(sent) > 0, outputs  # they shared the work
    print(f"\ntwo sends at once: {sent} messages, {seconds:.1f} s, every member exactly once")
    again = run(env, "send")
    assert "sent 0" in again.stdout and len(box.messages) == PEOPLE


def test_a_send_killed_half_way_then_run_again_mails_exactly_the_rest(tmp_path, mail_server):
    smtp_url, box = mail_server
    env = with_subscribers_and_a_digest(tmp_path, smtp_url)
    victim: list[subprocess.Popen] = []

    def kill_at_fifteenth(accepted: int, peer) -> None:
        # MAIL FROM of message 16 arrives after the send recorded message 15's answer
        if accepted == 15 and victim and victim[0].poll() is None:
            os.kill(victim[0].pid, signal.SIGKILL)

    box.on_mail = kill_at_fifteenth
    victim.append(subprocess.Popen([EXE, "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    victim[0].wait(timeout=120)
    assert victim[0].returncode == -signal.SIGKILL
    assert len(box.messages) == 15
    box.on_mail = None
    rerun = run(env, "send")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    # the killed send's 15 are counted as delivered (the ledger had them); its last claim is taken over
    assert f"sent {PEOPLE - 15}, already delivered 15" in rerun.stdout, rerun.stdout
    assert_exactly_once(box)
    final = run(env, "query", "select status, count(*) as n from deliveries group by 1", "--format", "csv")
    assert final.stdout.split() == ["status,n", f"sent,{PEOPLE}"]


def test_two_sends_and_a_kill_at_the_same_time(tmp_path, mail_server):
    """Worst case: two sends share the work and one of them is killed half-way; a third run finishes."""
    smtp_url, box = mail_server
    box.delay = 0.02
    env = with_subscribers_and_a_digest(tmp_path, smtp_url)
    sends = [subprocess.Popen([EXE, "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]

    def kill_the_first_between_two_of_its_messages(accepted: int, peer) -> None:
        # Only at the first send's own MAIL FROM: its previous message's answer is recorded then. (Killed
        # while the server is taking its message, the server may accept a message whose sender never
        # learns it: that one would go again, as with any SMTP client; README, "Exactly once".)
        if accepted >= 12 and sends[0].poll() is None and peer[1] in local_ports(sends[0].pid):
            os.kill(sends[0].pid, signal.SIGKILL)

    box.on_mail = kill_the_first_between_two_of_its_messages
    for p in sends:
        p.wait(timeout=120)
    box.on_mail = None
    assert sends[0].returncode == -signal.SIGKILL and sends[1].returncode == 0
    assert run(env, "send").returncode == 0
    assert_exactly_once(box)


def local_ports(pid: int) -> set[int]:
    import psutil

    try:
        return {c.laddr.port for c in psutil.Process(pid).net_connections(kind="tcp") if c.laddr}
    except psutil.Error:
        return set()


def big_feed(now: datetime, n: int) -> bytes:
    items = "".join(
        f"<item><title>Call {i}: ESA InCubed co-funding for Earth observation start-up number {i}</title>"
        f"<link>https://business.esa.int/funding/call-{i}</link><guid>urn:big:{i}</guid>"
        f"<description>Closing date: {(now + timedelta(days=40)).strftime('%d %B %Y')}. Funding call {i} for "
        f"companies; the co-funding covers up to 50% of the activity.</description>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate></item>" for i in range(n))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Big</title>'
            f"<link>https://business.esa.int/</link>{items}</channel></rss>").encode()


def test_a_web_unsubscribe_during_a_collect_load_survives_a_killed_web_process(
        tmp_path, mail_server, http_server, prefect_api, record_property):
    smtp_url, box = mail_server
    home = tmp_path / "home"
    env = with_subscribers_and_a_digest(tmp_path, smtp_url, n=3, week="2026-W40")
    env.update(PREFECT_API_URL=prefect_api, PREFECT_HOME=str(tmp_path / "prefect-client"))
    assert run(env, "send", "--week", "2026-W40").returncode == 0
    token = re.search(r"token=([\w-]+)>", box.to("member01@example.jp")[0]["List-Unsubscribe"])[1]
    box.messages.clear()

    http_server.add("/big.xml", body=big_feed(datetime.now(timezone.utc), 4000), etag='"big"')
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(f'[[source]]\nid = "big"\norganisation = "ESA"\nkind = "feed"\nurl = "{http_server.url("/big.xml")}"\n'
                       f'language = "en"\nenabled = true\n')
    env["SPACEDIGEST_SOURCES"] = str(catalog)
    with WebProcess(env) as web:
        collect = subprocess.Popen([EXE, "collect"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (http_server.hits.get("/big.xml") and db.writer_busy(home)):  # fetched, now loading
            assert collect.poll() is None and time.monotonic() < deadline, "the collect ended before loading was seen"
            time.sleep(0.005)
        provider = client(web.url)
        started = time.perf_counter()
        answer = provider.post(f"/unsubscribe?token={token}", content=b"List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        latency_ms = (time.perf_counter() - started) * 1000
        still_loading = db.writer_busy(home)
        web.kill()  # right after the answer
        assert answer.status_code == 200, answer.text
        assert still_loading, "the load finished before the answer: the test proved nothing (make the feed bigger)"
        load_started = time.monotonic()
        out, err = collect.communicate(timeout=300)
        assert collect.returncode == 0, out + err
    record_property("unsubscribe_during_load_ms", round(latency_ms, 1))
    print(f"\none-click unsubscribe answered in {latency_ms:.1f} ms while the collect held the warehouse "
          f"(it kept it {time.monotonic() - load_started:.1f} s more after the answer)")
    assert run(env, "digest").returncode == 0  # the next digest
    sent = run(env, "send")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sorted(box.recipients) == ["member00@example.jp", "member02@example.jp"], sent.stdout
    rows = run(env, "query", "select email, active from subscribers order by email", "--format", "csv").stdout
    assert "member01@example.jp,False" in rows
