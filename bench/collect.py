"""Collect benchmark: `spacedigest collect` end to end against N local feeds, side by side with
lemon24/reader on the same feeds and the same concurrency, in the same invocation.

Every contender runs as its own process (start-up included, like a scheduled run), against a feed
server running in a third process, so none steals the other's interpreter lock. For each:
whole-process wall time, time inside the flow, fetches/s, entries/s and peak RSS; then a second run
with nothing changed (every feed answers 304).

spacedigest runs twice over: with a running Prefect server (PREFECT_API_URL set, as scheduled runs
have) and cold (no PREFECT_API_URL: the command starts Prefect's temporary server itself). Cold is
measured on a machine where Prefect has run before (its database exists, as for every run but the
very first); the very first run, which also creates that database, is shown on its own line.

    .venv/bin/python bench/collect.py --feeds 200 --latency 0.1
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from tests import prefect_server  # noqa: E402
VENV_BIN = Path(sys.executable).parent
SPACEDIGEST = VENV_BIN / "spacedigest"
PREFECT = VENV_BIN / "prefect"

_SUMMARY = re.compile(r"collect: (\d+) sources, (\d+) ok, (\d+) failed; (\d+) new items.*\(([\d.]+) s\)")
_FOUND = re.compile(r"^\s+ok\s+\S+: (\d+) found", re.MULTILINE)


@dataclass
class Run:
    name: str
    wall_s: float
    flow_s: float | None  # time inside the flow (spacedigest) or inside update_feeds (reader)
    fetches: int
    entries: int
    failed: int
    peak_rss_mb: float
    exit_code: int = 0
    cpu_s: float = 0.0  # user + system CPU of the process and its children: robust on a busy machine
    note: str = ""

    @property
    def fetches_per_s(self) -> float:
        return self.fetches / self.flow_s if self.flow_s else 0.0

    @property
    def entries_per_s(self) -> float:
        return self.entries / self.flow_s if self.flow_s else 0.0


# --- processes ----------------------------------------------------------------------------------

_LAST_CPU = [0.0]


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int, str, str, float]:
    """Run `cmd`; (wall seconds, exit code, stdout, stderr, peak RSS MiB of it and its reaped children).
    Its CPU seconds (children included) are left in _LAST_CPU[0]."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    _LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    out.seek(0)
    err.seek(0)
    return wall, proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"), \
        usage.ru_maxrss / 1024


def start_feed_server(feeds: int, latency: float, hosts: int, corpus: str) -> tuple[subprocess.Popen, list[str]]:
    cmd = [sys.executable, str(BENCH / "server.py"), "--feeds", str(feeds), "--latency", str(latency),
           "--hosts", str(hosts), "--corpus", corpus]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    urls = []
    for line in proc.stdout:  # type: ignore[union-attr]
        line = line.strip()
        if line == "READY":
            return proc, urls
        urls.append(line)
    raise RuntimeError("the feed server exited before it was ready")


def stop(proc: subprocess.Popen, group: bool = False) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15) if group else proc.terminate()
        proc.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        proc.kill()


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACEDIGEST_", "PREFECT_"))}
    env["DO_NOT_TRACK"] = "1"
    env["NO_PROXY"] = env["no_proxy"] = "*"  # loopback only; never through a proxy
    return env


# --- contenders ---------------------------------------------------------------------------------

def write_catalog(urls: list[str], path: Path) -> Path:
    lines = []
    for n, url in enumerate(urls):
        lines += ["[[source]]", f'id = "bench-{n}"', 'organisation = "Bench"', 'kind = "feed"',
                  f'url = "{url}"', 'language = "en"', "enabled = true", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def spacedigest_collect(name: str, catalog: Path, home: Path, *, api_url: str | None, workers: int,
                        extra_env: dict[str, str] | None = None) -> Run:
    env = _base_env()
    env.update(SPACEDIGEST_HOME=str(home), SPACEDIGEST_SOURCES=str(catalog), SPACEDIGEST_WORKERS=str(workers))
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra_env or {})
    wall, code, out, err, rss = timed([str(SPACEDIGEST), "collect"], env, cwd=home)
    match = _SUMMARY.search(out)
    if not match:
        tail = (err or out).strip().splitlines()[-1:] or ["no output"]
        return Run(name, wall, None, 0, 0, 0, rss, code, note=f"no summary: {tail[0][:120]}")
    sources, _, failed, _, flow_s = match.groups()
    entries = sum(int(n) for n in _FOUND.findall(out))
    return Run(name, wall, float(flow_s), int(sources), entries, int(failed), rss, code, cpu_s=_LAST_CPU[0])


def reader_update(name: str, urls_file: Path, db: Path, workers: int) -> Run:
    env = _base_env()
    cmd = [sys.executable, str(Path(__file__).resolve()), "reader-worker", str(urls_file), str(db), str(workers)]
    wall, code, out, err, rss = timed(cmd, env)
    try:
        stats = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (err or out).strip().splitlines()[-1:] or ["no output"]
        return Run(name, wall, None, 0, 0, 0, rss, code, note=f"reader failed: {tail[0][:120]}")
    return Run(name, wall, stats["update_s"], stats["feeds"], stats["entries"], stats["failed"], rss, code,
               cpu_s=_LAST_CPU[0])


def reader_worker(urls_file: str, db: str, workers: str) -> int:
    """In its own process: reader's update_feeds over the URLs, with the given thread pool size."""
    started = time.perf_counter()
    from reader import make_reader

    reader = make_reader(db)
    urls = Path(urls_file).read_text().split()
    known = {f.url for f in reader.get_feeds()}
    for url in urls:
        if url not in known:
            reader.add_feed(url)
    t0 = time.perf_counter()
    failed = 0
    entries = 0
    for _, value in reader.update_feeds_iter(workers=int(workers), scheduled=False):
        if isinstance(value, Exception):
            failed += 1
        elif value is not None:
            entries += value.new + value.modified
    update_s = time.perf_counter() - t0
    reader.close()
    print(json.dumps({"feeds": len(urls), "entries": entries, "failed": failed, "update_s": update_s,
                      "total_s": time.perf_counter() - started}))
    return 0


# --- the benchmark ------------------------------------------------------------------------------

def run(feeds: int = 200, latency: float = 0.1, workers: int = 16, hosts: int = 20, corpus: str = "cycle",
        modes: tuple[str, ...] = ("server", "cold", "reader"), keep: bool = False,
        extra_env: dict[str, str] | None = None) -> list[Run]:
    workdir = Path(tempfile.mkdtemp(prefix="spacedigest-bench-collect-"))
    feed_server, urls = start_feed_server(feeds, latency, hosts, corpus)
    prefect_proc = None
    runs: list[Run] = []
    try:
        catalog = write_catalog(urls, workdir / "catalog.toml")
        urls_file = workdir / "urls.txt"
        urls_file.write_text("\n".join(urls))
        if "server" in modes:
            prefect_proc, api = prefect_server.start(workdir / "prefect-server-home")
            home = workdir / "home-server"
            home.mkdir()
            runs.append(spacedigest_collect("spacedigest, Prefect server", catalog, home, api_url=api,
                                            workers=workers, extra_env=extra_env))
            runs.append(spacedigest_collect("  rerun, all 304", catalog, home, api_url=api, workers=workers,
                                            extra_env=extra_env))
        if "cold" in modes:
            # Both cold runs share one Prefect home, as successive runs on one machine do: the first
            # ever also creates Prefect's database (once per machine); the second is the steady state.
            cold_env = {**(extra_env or {}), "PREFECT_HOME": str(workdir / "prefect-home-cold")}
            first = workdir / "home-cold-first"
            first.mkdir()
            runs.append(spacedigest_collect("  cold, first run ever", catalog, first, api_url=None,
                                            workers=workers, extra_env=cold_env))
            home = workdir / "home-cold"
            home.mkdir()
            runs.append(spacedigest_collect("spacedigest, cold", catalog, home, api_url=None, workers=workers,
                                            extra_env=cold_env))
            runs.append(spacedigest_collect("  rerun, all 304", catalog, home, api_url=None, workers=workers,
                                            extra_env=cold_env))
        if "reader" in modes:
            db = workdir / "reader.sqlite"
            runs.append(reader_update(f"reader, {workers} workers", urls_file, db, workers))
            runs.append(reader_update("  rerun, all 304", urls_file, db, workers))
    finally:
        if prefect_proc is not None:
            prefect_server.stop(prefect_proc)
        stop(feed_server)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return runs


def table(runs: list[Run]) -> str:
    reader = next((r for r in runs if r.name.startswith("reader")), None)
    head = f"{'collect run':<30} {'wall s':>7} {'flow s':>7} {'fetch/s':>8} {'entries':>8} {'entr/s':>8} " \
           f"{'RSS MiB':>8} {'CPU s':>6} {'failed':>6} {'vs reader':>9}"
    lines = [head, "-" * len(head)]
    for r in runs:
        ratio = f"{r.wall_s / reader.wall_s:.2f}x" if reader and reader.wall_s and not r.name.startswith(" ") \
            and r is not reader else ""
        flow = f"{r.flow_s:.2f}" if r.flow_s is not None else "-"
        lines.append(f"{r.name:<30} {r.wall_s:>7.2f} {flow:>7} {r.fetches_per_s:>8.1f} {r.entries:>8} "
                     f"{r.entries_per_s:>8.0f} {r.peak_rss_mb:>8.0f} {r.cpu_s:>6.1f} {r.failed:>6} {ratio:>9}"
                     + (f"  {r.note}" if r.note else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reader-worker"]:
        return reader_worker(*argv[1:4])
    parser = argparse.ArgumentParser(description="spacedigest collect vs reader on local feeds")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--workers", type=int, default=16, help="concurrent fetches, both contenders")
    parser.add_argument("--hosts", type=int, default=20, help="loopback hosts the feeds are spread over")
    parser.add_argument("--corpus", default="cycle", choices=("cycle", "first", "none"),
                        help="the real corpus cycled over every feed (issue 14's workload), first, or none")
    parser.add_argument("--modes", default="server,cold,reader", help="comma-separated: server,cold,reader")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, warehouses)")
    args = parser.parse_args(argv)
    runs = run(args.feeds, args.latency, args.workers, args.hosts, args.corpus,
               tuple(args.modes.split(",")), args.keep)
    print(f"{args.feeds} feeds, {args.latency * 1000:.0f} ms latency, {args.workers} workers")
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
