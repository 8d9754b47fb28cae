"""`spacedigest demo`, as a newcomer runs it: the real command, twice, in a fresh folder, offline.

Checks the issue's two points: the Japanese HTML digest the demo names holds the sample calls in
their sections and the outbox one message per sample subscriber; a second run (this one with
`--open`, stopped with Ctrl-C) gives the same result with nothing duplicated, and the user's own
`data/` warehouse is untouched. No PREFECT_API_URL: the demo starts its temporary Prefect server
itself, and nothing it started is left running.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import duckdb
import psutil
import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow

SPACEDIGEST = Path(sys.executable).with_name("spacedigest")

MAY_APPLY = {
    "Harwell Space Cluster opens International Partnership Programme – applications",
    "OSIP campaign: ideas for lunar surface communications, open worldwide",
    "宇宙戦略基金 第二期公募（衛星データ利用）を開始しました",
    "J-SPARC（宇宙イノベーションパートナーシップ）事業共創パートナーを募集しています",
}
RESTRICTED = {
    "Space for Maritime: call for proposals for Earth observation services at sea",  # ESA Member States
    "ITT AO12960: ground segment software for Earth observation missions",  # ESA Member States
    "Appel à projets « Spatial pour l'agriculture » : jusqu'à 500 000 € pour les PME",  # France
    "Horizon Europe : les appels « Espace » de l'année sont ouverts",  # EU and associated countries
    "ESA BIC UK opens applications for its next cohort of space start-ups",  # UK
}
CLOSED = "月面探査に向けた技術提案の募集"


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACEDIGEST_", "PREFECT_"))}
    # The user's settings must not leak into the demo: a mail server that does not exist, a staff address.
    env.update(SPACEDIGEST_SMTP_URL="smtp://127.0.0.1:1", SPACEDIGEST_STAFF_EMAIL="staff@example.org",
               SPACEDIGEST_HOME=str(tmp_path / "data"))
    return env


def sections(html_path: Path) -> dict[str, list[str]]:
    """{section heading without its count: item titles}, in the digest's order."""
    soup = BeautifulSoup(html_path.read_bytes(), "lxml")
    out: dict[str, list[str]] = {}
    current = None
    for tag in soup.find_all(["h2", "a"]):
        if tag.name == "h2":
            current = tag.get_text(strip=True).split("（")[0]
            out[current] = []
        elif current and tag.get("href", "").startswith("https://"):
            out[current].append(tag.get_text(strip=True))
    return out


def named_digest(stdout: str) -> Path:
    match = re.search(r"digest \(ja, HTML\)\s+(\S+\.ja\.html)", stdout)
    assert match, stdout
    return Path(match.group(1))


def snapshot(folder: Path, skip: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and skip not in p.parents}


def warehouse_counts(home: Path) -> tuple:
    with duckdb.connect(str(home / "staff" / "warehouse.duckdb"), read_only=True) as con:
        return tuple(con.execute(sql).fetchone()[0] for sql in (
            "select count(*) from items", "select count(*) from item_sources", "select count(*) from digests",
            "select count(*) from deliveries", "select count(*) from subscribers",
            "select count(*) from item_revisions where old_deadline is distinct from new_deadline"))


def left_behind(tmp_path: Path) -> list[str]:
    """Processes whose command line or environment names the test's folder (a Prefect server, ...)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + " ".join(proc.environ().values())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if str(tmp_path) in text and proc.pid != os.getpid():
            found.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])[:120]}")
    return found


def run_with_open(tmp_path: Path, env: dict) -> tuple[int, str]:
    """`spacedigest demo --open`: fetch the archive it serves, then Ctrl-C."""
    proc = subprocess.Popen([str(SPACEDIGEST), "demo", "--open"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            match = re.search(r"the archive is served at (\S+)", line)
            if match:
                with urllib.request.urlopen(match.group(1), timeout=10) as response:
                    page = response.read().decode("utf-8")
                assert response.status == 200 and ".ja.html" in page and ".en.html" in page
            if "Ctrl-C to stop" in line:
                proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return status, "".join(lines)


def test_demo_twice_from_a_fresh_folder(tmp_path):
    # the user's own warehouse, which the demo must leave alone
    data = tmp_path / "data"
    (data / "outbox").mkdir(parents=True)
    (data / "warehouse.duckdb").write_bytes(b"the user's warehouse")
    (data / "outbox" / "real.eml").write_text("To: member@example.jp\n\nreal mail\n")
    before = snapshot(data, skip=data / "demo")
    env = demo_env(tmp_path)

    first = subprocess.run([str(SPACEDIGEST), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stdout + first.stderr
    home = data / "demo"
    digest = tmp_path / named_digest(first.stdout)
    assert digest.parent == home / "reports"

    # 1. the sample calls in their sections
    found = sections(digest)
    assert list(found) == ["日本企業が応募できる公募", "締切が近い公募", "新着の公募・支援プログラム", "イベント",
                           "パートナーシップ", "プログラムニュース・その他", "締切済み"]
    assert set(found["日本企業が応募できる公募"]) == MAY_APPLY
    elsewhere = found["締切が近い公募"] + found["新着の公募・支援プログラム"]
    assert RESTRICTED <= set(elsewhere) and not RESTRICTED & MAY_APPLY
    assert found["締切済み"] == [CLOSED] and CLOSED not in found["新着の公募・支援プログラム"]
    assert len(found["イベント"]) == 4
    titles = [t for items in found.values() for t in items]
    assert len(titles) == len(set(titles)) == 17  # the announcement carried by two feeds is one item
    text = digest.read_text(encoding="utf-8")
    assert "締切延長" in text  # the moved deadline
    assert first.stdout.count("open_to_japan") == 1 and "(4 rows)" in first.stdout  # the staff query, answered

    # ... and one message per sample subscriber in the outbox (not mailed: the user's SMTP server is ignored)
    mails = sorted((home / "outbox").glob("*.eml"))
    recipients = sorted(email.message_from_bytes(m.read_bytes(), policy=email.policy.default)["To"].addresses[0]
                        .addr_spec for m in mails)
    assert recipients == ["alex.morgan@member.example.com", "hanako.yamada@member.example.jp"]
    counts = warehouse_counts(home)
    assert counts == (17, 18, 1, 2, 2, 1)
    assert left_behind(tmp_path) == []

    # 2. a second run, this one with --open: the same result, nothing duplicated
    status, output = run_with_open(tmp_path, env)
    assert status == 0, output
    assert "Traceback" not in output
    again = tmp_path / named_digest(output)
    assert sections(again) == found
    assert len(list((home / "outbox").glob("*.eml"))) == 2
    assert warehouse_counts(home) == counts
    assert snapshot(data, skip=home) == before  # the user's data/ untouched
    assert left_behind(tmp_path) == []
