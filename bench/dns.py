"""Name resolution and the fetch deadline: what an unresolvable host costs.

Two figures:
- offline catalog: every source of the built-in catalog fetched at once (16 threads, one run's
  retriever), as `collect` does on a machine without internet: the slowest fetch and the whole
  batch. Each host is a name the resolver cannot resolve here; under concurrent load it loses some
  answers, and glibc then waits 5 s before asking again.
- black-holed resolver: in a private mount namespace whose /etc/resolv.conf names a resolver that
  never answers (a UDP socket on a loopback address's port 53 that drops everything), one fetch with a 2 s
  deadline. glibc alone waits 5 s x 2 tries. Needs root (unshare -m); skipped otherwise. (The
  socket is on a random 127.x.y.z, so two runs at once do not collide.)

    .venv/bin/python bench/dns.py [--repeat 3] [--deadline 2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

def _blackhole_ip() -> str:
    """A loopback address of its own (127.0.0.0/8), so runs at the same time never share the port."""
    import random

    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


ONE_FETCH = textwrap.dedent("""
    import socket, sys, time
    from dataclasses import replace
    drop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    drop.bind(({ip!r}, 53))  # the resolver: reads nothing, answers nothing
    from spacedigest.sources.retrieve import DEFAULT_POLICY, fetch
    policy = replace(DEFAULT_POLICY, deadline=float(sys.argv[1]), connect_timeout=10.0)
    started = time.monotonic()
    got = fetch("bench", "https://www.example-agency.org/news/rss.xml", policy=policy)
    print(f"{{time.monotonic() - started:.2f}}|{{got.error}}")
""")


def offline_catalog(repeat: int) -> list[tuple[float, float]]:
    from spacedigest.sources.catalog import load_catalog
    from spacedigest.sources.models import Request
    from spacedigest.sources.retrieve import HttpRetriever

    figures = []
    for _ in range(repeat):
        catalog = load_catalog()
        retriever = HttpRetriever()

        def one(source):
            started = time.monotonic()
            retriever.fetch(source.id, Request(source.url))
            return time.monotonic() - started

        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            slowest = max(pool.map(one, catalog))
        figures.append((slowest, time.monotonic() - started))
        retriever.close()
    return figures


def blackholed(deadline: float) -> tuple[float, str] | str:
    """(seconds, error) of one fetch with a resolver that never answers, or why it could not run."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "needs root and unshare"
    ip = _blackhole_ip()
    with tempfile.TemporaryDirectory() as folder:
        resolv = Path(folder) / "resolv.conf"
        resolv.write_text(f"nameserver {ip}\n")
        script = Path(folder) / "one_fetch.py"
        script.write_text(ONE_FETCH.format(ip=ip))
        command = f"mount --bind {resolv} /etc/resolv.conf && exec {sys.executable} {script} {deadline}"
        done = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        return f"could not run: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
    seconds, error = done.stdout.strip().split("|", 1)
    return float(seconds), error


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=2.0)
    args = parser.parse_args(argv)
    print("offline catalog (28 sources, 16 at once): slowest fetch / whole batch")
    for slowest, whole in offline_catalog(args.repeat):
        print(f"  {slowest:6.2f} s / {whole:6.2f} s")
    outcome = blackholed(args.deadline)
    if isinstance(outcome, str):
        print(f"black-holed resolver: skipped ({outcome})")
    else:
        print(f"black-holed resolver, deadline {args.deadline:g} s: {outcome[0]:.2f} s ({outcome[1]})")


if __name__ == "__main__":
    main()
