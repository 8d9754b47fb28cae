"""Warehouse benchmark: loading new items (items/s), and a weekly run with a large history
against one with none.

The announcements are synthetic (built directly as `Announcement` records, no parsing) so the
figures are the warehouse's own. History goes in through the real loader, in big batches.

    .venv/bin/python bench/warehouse.py --load 100000 --history 1000000
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spacedigest.sources.models import Announcement  # noqa: E402

SOURCES = 200
_CATEGORIES = ["funding", "tender", "incubator", "event", "programme", "other"]
_WORDS = ["lunar", "orbital", "downstream", "navigation", "climate", "debris", "launcher", "quantum",
          "optical", "ground", "segment", "servicing", "weather", "maritime", "robotics", "payload"]


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    note: str = ""


def synthetic(n: int, *, start: int = 0, published_from: datetime, span_days: float, prefix: str = "h") -> list[Announcement]:
    """`n` distinct announcements spread over `SOURCES` sources, published over `span_days`."""
    out = []
    step = span_days * 86400 / max(n, 1)
    for i in range(start, start + n):
        source = f"bench-{i % SOURCES}"
        words = " ".join(_WORDS[(i >> k) % len(_WORDS)] for k in (0, 3, 6, 9))
        title = f"Call {prefix}{i}: {words} opportunity"
        published = published_from + timedelta(seconds=(i - start) * step)
        deadline = (published + timedelta(days=30 + i % 60)).date() if i % 3 == 0 else None
        out.append(Announcement(
            source_id=source, organisation=f"Org {i % 8}", entry_key=f"{prefix}{i}", title=title,
            url=f"https://example.org/{source}/{prefix}{i}", guid=f"{prefix}{i}",
            summary=f"{title}. Companies are invited to apply; see the documentation.",
            published_at=published, published_estimated=False, language="en",
            content_hash=hashlib.blake2b(title.encode(), digest_size=8).hexdigest(),
            category=_CATEGORIES[i % len(_CATEGORIES)], category_rule="bench", deadline=deadline,
            deadline_kind="date" if deadline else "none",
            status="open" if deadline else "unknown", japan_relevant=i % 7 == 0,
            japan_reason="bench" if i % 7 == 0 else None,
        ))
    return out


def _settings(home: Path):
    from spacedigest.flows.settings import load_settings

    return replace(load_settings(), home=home, smtp_url=None)


def load_new(n: int, workdir: Path) -> Figure:
    """`n` new items into an empty warehouse, in one batch (as one collect run loads them)."""
    from spacedigest.warehouse import db, load

    home = workdir / "load"
    now = datetime.now(timezone.utc)
    batch = synthetic(n, published_from=now - timedelta(days=14), span_days=14, prefix="n")
    with db.writer(home, publish_copy=False) as con:
        started = time.perf_counter()
        stats = load.load_announcements(con, batch, seen_at=now)
        seconds = time.perf_counter() - started
    assert stats.total_new == n, f"expected {n} new items, loaded {stats.total_new}"
    return Figure(f"load {n:,} new items", n / seconds, "items/s", f"{seconds:.2f} s")


def weekly_run(history: int, week_items: int, workdir: Path, batch: int = 250_000) -> tuple[Figure, Figure]:
    """A weekly run (load the week's items, build the digest) over `history` older items."""
    from spacedigest.flows.jobs import build_digest
    from spacedigest.warehouse import db, load

    home = workdir / f"weekly-{history}"
    now = datetime.now(timezone.utc)
    fill = 0.0
    if history:
        started = time.perf_counter()
        years = 3 * 365
        for first in range(0, history, batch):
            size = min(batch, history - first)
            old = synthetic(size, start=first, published_from=now - timedelta(days=years - 14)
                            + timedelta(days=years * first / history), span_days=years * size / history)
            seen = old[-1].published_at
            with db.writer(home, publish_copy=False) as con:
                load.load_announcements(con, old, seen_at=seen)
        fill = time.perf_counter() - started
    # The digest before this one, so the run covers exactly the last week.
    settings = _settings(home)
    build_digest(settings, now=now - timedelta(days=7), langs=("ja",))
    week = synthetic(week_items, start=10**8, published_from=now - timedelta(days=6), span_days=6, prefix="w")
    # The setup above leaves hundreds of MB of dirty pages (the warehouse and its staff copy); let
    # the kernel write them now, so the run below is not charged for the setup's disk writes.
    os.sync()
    started = time.perf_counter()
    with db.writer(home, publish_copy=False) as con:
        load.load_announcements(con, week, seen_at=now - timedelta(hours=1))
    report = build_digest(settings, now=now, langs=("ja", "en"))
    seconds = time.perf_counter() - started
    label = f"weekly run, {history:,} historic items"
    note = f"{report.item_count} items in digest" + (f"; history loaded in {fill:.1f} s" if history else "")
    return Figure(label, seconds, "s", note), Figure(f"  history load ({history:,})", history / fill if fill else 0,
                                                        "items/s", "")


def run(load_items: int = 100_000, history: int = 1_000_000, week_items: int = 2_000) -> list[Figure]:
    workdir = Path(tempfile.mkdtemp(prefix="spacedigest-bench-warehouse-"))
    try:
        figures = [load_new(load_items, workdir)]
        empty, _ = weekly_run(0, week_items, workdir)
        full, fill = weekly_run(history, week_items, workdir)
        slower = (full.value / empty.value - 1) * 100 if empty.value else 0.0
        full.note += f"; {slower:+.0f}% vs none"
        figures += [empty, full, fill]
        return figures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def table(figures: list[Figure]) -> str:
    return "\n".join(f"{f.name:<40} {f.value:>12,.2f} {f.unit:<8} {f.note}" for f in figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="warehouse load and weekly-run benchmark")
    parser.add_argument("--load", type=int, default=100_000, help="new items to load")
    parser.add_argument("--history", type=int, default=1_000_000, help="historic items for the weekly run")
    parser.add_argument("--week", type=int, default=2_000, help="items arriving during the week")
    args = parser.parse_args(argv)
    print(table(run(args.load, args.history, args.week)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
