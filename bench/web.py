"""The web app's answer to a change, and when the runs see it: one-click unsubscribes (RFC 8058 POSTs)
against `spacedigest web`, idle and while another process loads the warehouse through the real
loader (what a collect holds the warehouse for); how long that load held it (what a web change written
straight into the warehouse would have waited); and how soon the next writer has applied them.

    .venv/bin/python bench/web.py [--subscribers 200] [--load 100000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOADER = """
import sys, time
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, {root!r})
from bench.warehouse import synthetic
from spacedigest.warehouse import db, load
now = datetime.now(timezone.utc)
batch = synthetic({n}, published_from=now - timedelta(days=3), span_days=3, prefix="w")
with db.writer(Path({home!r})) as con:
    print("holding", flush=True)
    started = time.perf_counter()
    load.load_announcements(con, batch, seen_at=now)
    print(f"loaded {{time.perf_counter() - started:.3f}}", flush=True)
"""


def run(subscribers: int = 200, load_items: int = 100_000) -> list[str]:
    import httpx

    from spacedigest.reports.subscribers import make_subscriber
    from spacedigest.warehouse import db, ledger, records
    from tests.webapp import WebProcess

    workdir = Path(tempfile.mkdtemp(prefix="spacedigest-bench-web-"))
    home = workdir / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACEDIGEST_")}
    env.update(SPACEDIGEST_HOME=str(home))
    os.environ["SPACEDIGEST_HOME"] = str(home)
    now = datetime.now(timezone.utc)
    subs = []
    with db.writer(home) as con:
        con.execute("BEGIN TRANSACTION")
        for n in range(subscribers):
            sub = make_subscriber(f"member{n}@example.org")
            sub_id, _ = records.add_subscriber(con, sub, now=now)
            subs.append(sub.__class__(**{**sub.__dict__, "id": sub_id}))
        con.execute("COMMIT")
    tokens = []
    with ledger.Claims(home, digest_id=1) as claims:  # the tokens a send would mail
        for sub in subs:
            tokens.append(claims.claim(sub))
            claims.finish(sub, sent=True, message_id=None, error=None)
    lines = []
    with WebProcess(env) as web:
        http = httpx.Client(base_url=web.url, timeout=60)

        def unsubscribe(token: str) -> float:
            started = time.perf_counter()
            answer = http.post(f"/unsubscribe?token={token}", content=b"List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 200, answer.status_code
            return (time.perf_counter() - started) * 1000

        half = len(tokens) // 2
        idle = [unsubscribe(t) for t in tokens[:half]]
        loader = subprocess.Popen([sys.executable, "-c", LOADER.format(root=str(ROOT), n=load_items, home=str(home))],
                                  stdout=subprocess.PIPE, text=True)
        assert loader.stdout.readline().strip() == "holding"
        lock_taken = time.perf_counter()
        busy, during = [], 0
        for token in tokens[half:]:
            held = db.writer_busy(home)
            busy.append(unsubscribe(token))
            during += held and db.writer_busy(home)
        load_line = loader.stdout.readline().strip()
        loader.wait()
        held_s = time.perf_counter() - lock_taken
        started = time.perf_counter()
        with db.writer(home, publish_copy=False) as con:  # the next run's first step
            applied_s = time.perf_counter() - started
            inactive = con.execute("select count(*) from subscribers where not active").fetchall()[0][0]
    assert inactive == subscribers, (inactive, subscribers)

    def figures(values: list[float]) -> str:
        values = sorted(values)
        return (f"median {statistics.median(values):.1f} ms, p95 {values[int(len(values) * 0.95) - 1]:.1f} ms, "
                f"max {values[-1]:.1f} ms ({len(values)} requests)")

    lines.append(f"one-click unsubscribe, warehouse free:     {figures(idle)}")
    lines.append(f"one-click unsubscribe, warehouse loading:  {figures(busy)}; {during} answered while the "
                 f"loader held the warehouse")
    lines.append(f"the load ({load_items:,} items, {load_line}) held the warehouse {held_s:.1f} s: a web change "
                 f"written straight into the warehouse would have waited up to that long")
    lines.append(f"next writer applied all {subscribers} journaled changes (and opened the warehouse) in "
                 f"{applied_s:.2f} s; every send starts with that step")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--load", type=int, default=100_000)
    args = parser.parse_args(argv)
    for line in run(args.subscribers, args.load):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
