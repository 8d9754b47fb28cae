"""Every benchmark in one command, one table at the end: `make bench` (or
`.venv/bin/python bench/run_all.py [--quick]`). Sizes are options; --quick runs small sizes."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench import bench_module  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not the targets)")
    parser.add_argument("--feeds", type=int, help="feeds for the collect benchmark (200; quick 20)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per feed request")
    parser.add_argument("--load", type=int, help="new items to load (100000; quick 5000)")
    parser.add_argument("--history", type=int, help="historic items for the weekly run (1000000; quick 20000)")
    parser.add_argument("--subscribers", type=int, help="digest recipients (10000; quick 200)")
    parser.add_argument("--repeat", type=int, help="alternating rounds of the collect comparison (2; quick 1)")
    parser.add_argument("--scale", help="catalog sizes for the growth figures (200,1000,2000; quick 20,40)")
    parser.add_argument("--skip", default="", help="comma-separated: collect,scale,startup,warehouse,send")
    args = parser.parse_args(argv)
    quick = args.quick
    feeds = args.feeds or (20 if quick else 200)
    skip = set(filter(None, args.skip.split(",")))
    sections = []

    if "collect" not in skip:
        collect = bench_module("collect")
        repeat = args.repeat or (1 if quick else 2)
        runs = collect.run(feeds, args.latency, repeat=repeat)
        sections.append((f"collect: {feeds} feeds (real corpus cycled), 20 hosts, {args.latency * 1000:.0f} ms "
                         f"latency, 16 workers, best of {repeat} alternating rounds", collect.table(runs)))
        sections.append(("targets (issue 14, on 200 feeds" + (": --quick sizes are not that workload" if quick else "")
                         + "): <= 0.5 x reader with a Prefect server, <= 1.0 x cold, <= 1.5 x the first run ever; "
                         "no-change rerun <= 2.5 s; no Prefect client back-off",
                         "\n".join(collect.verdicts(runs))))
    if "scale" not in skip:
        collect = bench_module("collect")
        sizes = tuple(int(n) for n in (args.scale or ("20,40" if quick else "200,1000,2000")).split(","))
        sections.append((f"how the cost grows: {', '.join(map(str, sizes))} feeds, 10 per host, Prefect server",
                         collect.scale_table(collect.scaling(sizes, args.latency, repeat=1))))
    if "startup" not in skip:
        startup = bench_module("startup")
        sections.append(("start-up of the flow commands (Prefect's share: its import, its server, its bookkeeping)",
                         startup.table(startup.run(repeat=1 if quick else 3))))
    if "warehouse" not in skip:
        warehouse = bench_module("warehouse")
        figures = warehouse.run(args.load or (5_000 if quick else 100_000),
                                args.history or (20_000 if quick else 1_000_000))
        sections.append(("warehouse (targets: load >= 50k items/s; weekly run < 10% slower with 1M history)",
                         warehouse.table(figures)))
    if "send" not in skip:
        send = bench_module("send")
        rate, seconds, sent = send.run(args.subscribers or (200 if quick else 10_000))
        sections.append(("send (target >= 500 messages/s)",
                         f"{sent:,} messages in {seconds:.1f} s: {rate:,.0f} messages/s, one SMTP connection"))

    for title, body in sections:
        print(f"\n== {title}\n{body}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
