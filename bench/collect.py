"""Collect benchmark: `spacedigest collect` end to end against N local feeds, side by side with
lemon24/reader on the same feeds and the same concurrency, in the same invocation.

Every contender runs as its own process (start-up included, like a scheduled run), against a feed
server running in a third process, so none steals the other's interpreter lock. For each:
whole-process wall time, time inside the flow, fetches/s, entries/s, peak memory (the largest
process, and the whole process tree: parse workers included) and CPU; then a second run with
nothing changed (every feed answers 304).

The workload is issue 14's: 200 feeds, the real corpus (`../shared/real-feeds/`) cycled over them,
20 loopback hosts, 100 ms per request, 16 workers. spacedigest runs with a running Prefect server
(PREFECT_API_URL set, as scheduled runs have; Prefect's default SQLite database) and cold (no
PREFECT_API_URL: the command starts Prefect's temporary server itself). Cold is measured on a
machine where Prefect has run before (its database exists, as for every run but the very first);
the very first run, which also creates that database, is its own line. Rounds alternate the
contenders (`--repeat`, best of N per line), since a shared machine's load moves under them.

Every spacedigest run also counts the Prefect client's retries (each one a back-off of seconds,
such as the 503 a SQLite-backed server answers while it is still writing the previous run's
records), from the client's own debug messages, and the task runs its collect flow run recorded.

`--scale 200,1000,2000` measures how the cost grows: feeds spread over hosts (10 per host),
with a Prefect server; wall time against the network bound (feeds x latency / workers) plus the
start-up (a collect with nothing to fetch), the Prefect task runs (constant), and peak memory.

    .venv/bin/python bench/collect.py --feeds 200 --latency 0.1 --repeat 2
    .venv/bin/python bench/collect.py --modes none --scale 200,1000,2000
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
import threading
import time
import urllib.request
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
# What Prefect's HTTP client logs (logger prefect.client, debug) before each back-off and retry.
_CLIENT_RETRY = re.compile(r"(Received response with retryable status code|Encountered retryable exception)"
                           r".*Another attempt will be made")
CLIENT_DEBUG = {"PREFECT_LOGGING_LOGGERS_PREFECT_CLIENT_LEVEL": "DEBUG"}
FEEDS_PER_HOST = 10  # --scale spreads the feeds over hosts this way (200 feeds: 20 hosts, as issue 14)


@dataclass
class Run:
    name: str
    wall_s: float
    flow_s: float | None  # time inside the flow (spacedigest) or inside update_feeds (reader)
    fetches: int
    entries: int
    failed: int
    peak_rss_mb: float  # the largest single process
    exit_code: int = 0
    cpu_s: float = 0.0  # user + system CPU of the process and its children: robust on a busy machine
    note: str = ""
    tree_rss_mb: float = 0.0  # the whole process tree at its peak (parse workers included)
    retries: int | None = None  # Prefect client retries (back-offs) during the run
    task_runs: int | None = None  # task runs the collect flow run recorded in Prefect

    @property
    def fetches_per_s(self) -> float:
        return self.fetches / self.flow_s if self.flow_s else 0.0

    @property
    def entries_per_s(self) -> float:
        return self.entries / self.flow_s if self.flow_s else 0.0


# --- processes ----------------------------------------------------------------------------------

_LAST_CPU = [0.0]
_LAST_TREE = [0.0]


def _sample_tree(pid: int, done: threading.Event) -> None:
    """Peak resident memory of the process and all its descendants, sampled every 50 ms."""
    import psutil

    peak = 0
    try:
        parent = psutil.Process(pid)
    except psutil.Error:
        return
    while not done.is_set():
        total = 0
        try:
            for proc in [parent, *parent.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            break
        peak = max(peak, total)
        done.wait(0.05)
    _LAST_TREE[0] = peak / 1024 / 1024


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int, str, str, float]:
    """Run `cmd`; (wall seconds, exit code, stdout, stderr, peak RSS MiB of it and its reaped children).
    Its CPU seconds (children included) are left in _LAST_CPU[0], the peak of its whole process
    tree in _LAST_TREE[0]."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
    done = threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(proc.pid, done), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
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
    # A deployed program has its bytecode cached (reader's, in site-packages, always is): a shell
    # that forbids writing it would make every spacedigest run compile its own modules again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# --- contenders ---------------------------------------------------------------------------------

def write_catalog(urls: list[str], path: Path) -> Path:
    lines = []
    for n, url in enumerate(urls):
        lines += ["[[source]]", f'id = "bench-{n}"', 'organisation = "Bench"', 'kind = "feed"',
                  f'url = "{url}"', 'language = "en"', "enabled = true", ""]
    if not urls:  # a catalog with nothing to fetch (start-up alone): one disabled source
        lines += ["[[source]]", 'id = "bench-off"', 'organisation = "Bench"', 'kind = "feed"',
                  'url = "http://127.0.0.1:9/off"', "enabled = false", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def client_retries(stderr: str) -> int:
    """How many times the Prefect client backed off and retried (its debug messages)."""
    return len(_CLIENT_RETRY.findall(stderr))


def spacedigest_collect(name: str, catalog: Path, home: Path, *, api_url: str | None, workers: int,
                        extra_env: dict[str, str] | None = None) -> Run:
    env = _base_env()
    env.update(SPACEDIGEST_HOME=str(home), SPACEDIGEST_SOURCES=str(catalog), SPACEDIGEST_WORKERS=str(workers))
    env.update(CLIENT_DEBUG)
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
    return Run(name, wall, float(flow_s), int(sources), entries, int(failed), rss, code, cpu_s=_LAST_CPU[0],
               tree_rss_mb=_LAST_TREE[0], retries=client_retries(err))


def _post(api_url: str, path: str, body: dict):
    request = urllib.request.Request(f"{api_url}/{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


_FINAL = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]


def task_runs_of_latest_collects(api_url: str, runs: int = 1, settle_s: float = 60.0) -> list[int | None]:
    """The task runs Prefect recorded for each of the latest `runs` collect flow runs, newest first.
    The server records them from events, after the run: wait until every one is in a final state.
    (Asked after the runs measured, never between two back-to-back runs: the wait would let the
    server finish writing, which is what "back to back" is about.)"""
    try:
        flow_runs = _post(api_url, "flow_runs/filter", {"flows": {"name": {"any_": ["collect"]}},
                                                        "sort": "START_TIME_DESC", "limit": runs})
        counts = []
        deadline = time.monotonic() + settle_s
        for flow_run in flow_runs:
            of_run = {"flow_runs": {"id": {"any_": [flow_run["id"]]}}}
            final = {**of_run, "task_runs": {"state": {"type": {"any_": _FINAL}}}}
            while True:
                total = _post(api_url, "task_runs/count", of_run)
                if (total and _post(api_url, "task_runs/count", final) == total) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            counts.append(total)
        return counts + [None] * (runs - len(counts))
    except OSError:
        return [None] * runs


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
               cpu_s=_LAST_CPU[0], tree_rss_mb=_LAST_TREE[0])


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

SERVER, RERUN, FIRST_EVER, COLD, COLD_RERUN, READER, READER_RERUN = (
    "spacedigest, Prefect server", "  rerun, all 304", "  cold, first run ever", "spacedigest, cold",
    "  cold rerun, all 304", "reader, {workers} workers", "  reader rerun, all 304")


def _round(workdir: Path, n: int, catalog: Path, urls_file: Path, api: str | None, modes: tuple[str, ...],
           workers: int, extra_env: dict[str, str] | None) -> list[Run]:
    """One round of every contender; each round starts from nothing (new homes)."""
    runs: list[Run] = []

    def sd(name: str, home: Path, api_url: str | None, env: dict[str, str] | None = None) -> None:
        home.mkdir(parents=True, exist_ok=True)
        runs.append(spacedigest_collect(name, catalog, home, api_url=api_url, workers=workers,
                                        extra_env={**(extra_env or {}), **(env or {})}))

    if "server" in modes:
        home = workdir / f"home-server-{n}"
        sd(SERVER, home, api)
        sd(RERUN, home, api)  # right after: back to back on the same (SQLite) Prefect server
        runs[-1].task_runs, runs[-2].task_runs = task_runs_of_latest_collects(api, 2)
    if "cold" in modes:
        # The first ever creates Prefect's database (once per machine); the next runs share it.
        cold_env = {"PREFECT_HOME": str(workdir / f"prefect-home-cold-{n}")}
        sd(FIRST_EVER, workdir / f"home-cold-first-{n}", None, cold_env)
        home = workdir / f"home-cold-{n}"
        sd(COLD, home, None, cold_env)
        sd(COLD_RERUN, home, None, cold_env)
    if "reader" in modes:
        db = workdir / f"reader-{n}.sqlite"
        runs.append(reader_update(READER.format(workers=workers), urls_file, db, workers))
        runs.append(reader_update(READER_RERUN, urls_file, db, workers))
    return runs


def run(feeds: int = 200, latency: float = 0.1, workers: int = 16, hosts: int = 20, corpus: str = "cycle",
        modes: tuple[str, ...] = ("server", "cold", "reader"), keep: bool = False,
        extra_env: dict[str, str] | None = None, repeat: int = 1) -> list[Run]:
    """Every contender, `repeat` alternating rounds; the best (lowest wall) of each line, with the
    Prefect client retries summed over all rounds (any retry is a back-off somebody waited for)."""
    workdir = Path(tempfile.mkdtemp(prefix="spacedigest-bench-collect-"))
    feed_server, urls = start_feed_server(feeds, latency, hosts, corpus)
    prefect_proc = None
    rounds: list[list[Run]] = []
    try:
        catalog = write_catalog(urls, workdir / "catalog.toml")
        urls_file = workdir / "urls.txt"
        urls_file.write_text("\n".join(urls))
        api = None
        if "server" in modes:
            prefect_proc, api = prefect_server.start(workdir / "prefect-server-home")
        for n in range(max(1, repeat)):
            rounds.append(_round(workdir, n, catalog, urls_file, api, modes, workers, extra_env))
    finally:
        if prefect_proc is not None:
            prefect_server.stop(prefect_proc)
        stop(feed_server)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    best = []
    for position, first in enumerate(rounds[0]):
        same = [r[position] for r in rounds]
        chosen = min(same, key=lambda r: (r.flow_s is None, r.wall_s))
        if chosen.retries is not None:
            chosen.retries = sum(r.retries or 0 for r in same)
        if len(same) > 1:
            chosen.note = (chosen.note + " " if chosen.note else "") + \
                f"(best of {len(same)}: {', '.join(f'{r.wall_s:.2f}' for r in same)})"
        best.append(chosen)
    return best


def table(runs: list[Run]) -> str:
    reader = next((r for r in runs if r.name.startswith("reader")), None)
    head = f"{'collect run':<28} {'wall s':>7} {'flow s':>7} {'fetch/s':>8} {'entries':>8} {'entr/s':>7} " \
           f"{'RSS MiB':>8} {'tree MiB':>8} {'CPU s':>6} {'failed':>6} {'retries':>7} {'tasks':>5} {'vs reader':>9}"
    lines = [head, "-" * len(head)]
    for r in runs:
        ratio = f"{r.wall_s / reader.wall_s:.2f}x" if reader and reader.wall_s and r is not reader \
            and not r.name.strip().startswith(("rerun", "cold rerun", "reader rerun")) else ""
        flow = f"{r.flow_s:.2f}" if r.flow_s is not None else "-"
        retries = "" if r.retries is None else str(r.retries)
        tasks = "" if r.task_runs is None else str(r.task_runs)
        lines.append(f"{r.name:<28} {r.wall_s:>7.2f} {flow:>7} {r.fetches_per_s:>8.1f} {r.entries:>8} "
                     f"{r.entries_per_s:>7.0f} {r.peak_rss_mb:>8.0f} {r.tree_rss_mb:>8.0f} {r.cpu_s:>6.1f} "
                     f"{r.failed:>6} {retries:>7} {tasks:>5} {ratio:>9}" + (f"  {r.note}" if r.note else ""))
    return "\n".join(lines)


TARGETS = {SERVER: 0.5, COLD: 1.0, FIRST_EVER: 1.5}
RERUN_TARGET_S = 2.5


def verdicts(runs: list[Run]) -> list[str]:
    """Issue 14's targets against these figures, one line each."""
    reader = next((r for r in runs if r.name.startswith("reader")), None)
    by_name = {r.name: r for r in runs}
    lines = []
    for name, target in TARGETS.items():
        r = by_name.get(name)
        if r and reader and reader.wall_s:
            ratio = r.wall_s / reader.wall_s
            lines.append(f"{name.strip()}: {r.wall_s:.2f} s = {ratio:.2f} x reader {reader.wall_s:.2f} s "
                         f"(target <= {target} x: {'met' if ratio <= target else 'NOT met'})")
    rerun = by_name.get(RERUN)
    if rerun:
        lines.append(f"no-change rerun right after a run, Prefect server: {rerun.wall_s:.2f} s whole process, "
                     f"{rerun.flow_s} s inside the flow (target <= {RERUN_TARGET_S} s: "
                     f"{'met' if rerun.wall_s <= RERUN_TARGET_S else 'NOT met'})")
    back_to_back = [r for r in (by_name.get(SERVER), rerun) if r and r.retries is not None]
    if back_to_back:
        total = sum(r.retries for r in back_to_back)
        lines.append(f"Prefect client retries (503 back-offs) in the back-to-back runs on the SQLite server, "
                     f"all rounds: {total} (target 0: {'met' if total == 0 else 'NOT met'})")
    tasks = {r.task_runs for r in runs if r.task_runs is not None}
    if tasks:
        lines.append(f"Prefect task runs per collect flow run: {', '.join(map(str, sorted(tasks)))}")
    return lines


# --- how the cost grows -------------------------------------------------------------------------

@dataclass
class Scale:
    feeds: int
    hosts: int
    bound_s: float  # feeds x latency / workers
    startup_s: float  # a collect with nothing to fetch, whole process
    run: Run

    @property
    def over_bound(self) -> float:
        """(wall - start-up) / network bound: 1.0 is the bound itself."""
        return (self.run.wall_s - self.startup_s) / self.bound_s if self.bound_s else 0.0


def scaling(sizes: tuple[int, ...] = (200, 1000, 2000), latency: float = 0.1, workers: int = 16,
            corpus: str = "cycle", repeat: int = 1, keep: bool = False) -> list[Scale]:
    """Each size on its own feed server (10 feeds per host), one Prefect server for all; the
    start-up is the best of three collects with nothing to fetch."""
    workdir = Path(tempfile.mkdtemp(prefix="spacedigest-bench-scale-"))
    prefect_proc, api = prefect_server.start(workdir / "prefect-server-home")
    results = []
    try:
        empty = write_catalog([], workdir / "empty.toml")
        startups = []
        for n in range(3):
            home = workdir / f"home-empty-{n}"
            home.mkdir()
            startups.append(spacedigest_collect("start-up", empty, home, api_url=api, workers=workers).wall_s)
        startup = min(startups)
        for feeds in sizes:
            hosts = max(1, min(250, feeds // FEEDS_PER_HOST))
            feed_server, urls = start_feed_server(feeds, latency, hosts, corpus)
            try:
                catalog = write_catalog(urls, workdir / f"catalog-{feeds}.toml")
                tries = []
                for n in range(max(1, repeat)):
                    home = workdir / f"home-{feeds}-{n}"
                    home.mkdir()
                    tries.append(spacedigest_collect(f"{feeds} feeds", catalog, home, api_url=api, workers=workers))
                    tries[-1].task_runs = task_runs_of_latest_collects(api)[0]
                best = min(tries, key=lambda r: (r.flow_s is None, r.wall_s))
            finally:
                stop(feed_server)
            results.append(Scale(feeds, hosts, feeds * latency / workers, startup, best))
    finally:
        prefect_server.stop(prefect_proc)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def scale_table(results: list[Scale]) -> str:
    head = f"{'feeds':>6} {'hosts':>5} {'bound s':>7} {'start-up s':>10} {'wall s':>7} {'flow s':>7} " \
           f"{'(wall-start)/bound':>18} {'tasks':>5} {'retries':>7} {'RSS MiB':>8} {'tree MiB':>8} {'CPU s':>6} {'failed':>6}"
    lines = [head, "-" * len(head)]
    for s in results:
        r = s.run
        flow = f"{r.flow_s:.2f}" if r.flow_s is not None else "-"
        lines.append(f"{s.feeds:>6} {s.hosts:>5} {s.bound_s:>7.2f} {s.startup_s:>10.2f} {r.wall_s:>7.2f} {flow:>7} "
                     f"{s.over_bound:>17.2f}x {r.task_runs if r.task_runs is not None else '-':>5} "
                     f"{r.retries if r.retries is not None else '-':>7} {r.peak_rss_mb:>8.0f} {r.tree_rss_mb:>8.0f} "
                     f"{r.cpu_s:>6.1f} {r.failed:>6}" + (f"  {r.note}" if r.note else ""))
    lines.append("target: wall within 1.3 x the network bound plus start-up, i.e. (wall-start)/bound <= 1.3; "
                 "task runs the same at every size")
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
    parser.add_argument("--modes", default="server,cold,reader", help="comma-separated: server,cold,reader "
                                                                      "(none: only --scale)")
    parser.add_argument("--repeat", type=int, default=2, help="alternating rounds; the best of each line is shown")
    parser.add_argument("--scale", default="", help="comma-separated catalog sizes, e.g. 200,1000,2000")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, warehouses)")
    args = parser.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m and m != "none")
    if modes:
        runs = run(args.feeds, args.latency, args.workers, args.hosts, args.corpus, modes, args.keep,
                   repeat=args.repeat)
        print(f"{args.feeds} feeds ({args.corpus}), {args.hosts} hosts, {args.latency * 1000:.0f} ms latency, "
              f"{args.workers} workers, best of {args.repeat}")
        print(table(runs))
        print("\n".join(verdicts(runs)))
    if args.scale:
        sizes = tuple(int(n) for n in args.scale.split(","))
        print(f"\nhow the cost grows ({args.corpus}, {FEEDS_PER_HOST} feeds per host, "
              f"{args.latency * 1000:.0f} ms latency, {args.workers} workers, Prefect server)")
        print(scale_table(scaling(sizes, args.latency, args.workers, args.corpus, args.repeat, args.keep)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
