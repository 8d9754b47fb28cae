"""Send benchmark: one digest to N subscribers through a local SMTP server (aiosmtpd, in its own
process so it does not share our interpreter lock). The job keeps one SMTP connection open for
the whole send; the figure is messages per second of the whole `send` job (messages built,
rendered per subscriber, delivered and journalled).

    .venv/bin/python bench/send.py --subscribers 10000
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_module  # noqa: E402
from tests.prefect_server import free_port  # noqa: E402


def start_smtp_server() -> tuple[subprocess.Popen, int]:
    """aiosmtpd with the Sink handler (accepts and discards), on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("aiosmtpd did not start")


def run(subscribers: int = 10_000, items: int = 40) -> tuple[float, float, int]:
    """(messages/s, seconds, messages sent)."""
    synthetic = bench_module("warehouse").synthetic
    from spacedigest.flows.jobs import build_digest, send_digest
    from spacedigest.flows.settings import load_settings
    from spacedigest.reports.subscribers import make_subscriber
    from spacedigest.warehouse import db, load, records

    workdir = Path(tempfile.mkdtemp(prefix="spacedigest-bench-send-"))
    smtp, port = start_smtp_server()
    try:
        home = workdir / "home"
        now = datetime.now(timezone.utc)
        settings = replace(load_settings(), home=home, smtp_url=f"smtp://127.0.0.1:{port}", site_url_set=True,
                           sender_name="Bench", postal_address="1-1 Bench, Tokyo", contact_email="office@example.org")
        with db.writer(home, publish_copy=False) as con:
            load.load_announcements(con, synthetic(items, published_from=now - timedelta(days=5), span_days=4,
                                                   prefix="s"), seen_at=now - timedelta(hours=2))
            con.execute("BEGIN TRANSACTION")
            for n in range(subscribers):
                records.add_subscriber(con, make_subscriber(f"reader{n}@example.org", f"Reader {n}",
                                                            "ja" if n % 3 else "en"), now=now)
            con.execute("COMMIT")
        report = build_digest(settings, now=now, langs=("ja", "en"))
        started = time.perf_counter()
        sent = send_digest(settings, label=report.label)
        seconds = time.perf_counter() - started
        if sent.failed or sent.rejected:
            raise RuntimeError(f"send failed: {(sent.failed + sent.rejected)[:1]}")
        return sent.sent / seconds, seconds, sent.sent
    finally:
        smtp.terminate()
        smtp.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="digest delivery benchmark (local aiosmtpd)")
    parser.add_argument("--subscribers", type=int, default=10_000)
    args = parser.parse_args(argv)
    rate, seconds, sent = run(args.subscribers)
    print(f"send digest to {sent:,} subscribers: {rate:,.0f} messages/s ({seconds:.1f} s, one SMTP connection)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
