"""How well sources.classify understands announcements, measured on a labelled set.

Run from the project root:
  .venv/bin/python bench/classify.py [--data FILE] [--heldout] [--feed FILE --expected FILE] [--show-errors]

--heldout measures the held-out feed tests/fixtures/classify/heldout.xml instead (announcements not
in the labelled set), through the real feed parser and normalizer, as of its labelled fetch time.
--feed/--expected measure any such feed with its labels (same format as heldout_expected.json), e.g.
the blind batches tests/fixtures/classify/blind1.xml and blind2.xml.

Prints precision and recall per category, category accuracy, deadline exact-match rate (a
deadline is right when both its kind and its date match the label), opening-date and status
accuracy, Japan-relevance accuracy and the number of false "closed" (an item shown closed whose
label is not closed: a live call hidden from readers). Exits 1 when a target is missed.

Labelling rules used for bench/data/labelled.jsonl (one JSON object per line):
- category: funding = a call that gives money (grants, co-funding, calls for ideas/proposals);
  tender = procurement (ITT, RFQ, RFI, call for tenders, 入札, 企画競争); incubation = a call to
  join an incubator/accelerator or a start-up support scheme; partnership = agreements signed,
  cooperation between organisations, partnership programmes (J-SPARC); event = conferences,
  webinars, info/industry days, pitch days, trade missions (including reports on them);
  programme = news about a programme or mission (selections, winners, launches, milestones);
  other = everything else (science news, vacancies, surveys).
- deadline: the date by which a reader must act (apply, tender, register) — the latest one when
  several are given (two-stage calls, extensions); never an event date. deadline_kind is
  "rolling" for calls that are always open (a cut-off date of such a call is not a deadline).
- status: at the `fetched` date, per the issue: closed when deadline < fetched, forthcoming when
  opening > fetched, open when a deadline is ahead or the call is rolling, unknown otherwise.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from datetime import date, datetime, time, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spacedigest.sources.classify import CATEGORIES, enrich  # noqa: E402
from spacedigest.sources.models import Announcement  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT / "bench" / "data" / "labelled.jsonl"
HELDOUT_FEED = PROJECT_ROOT / "tests" / "fixtures" / "classify" / "heldout.xml"
HELDOUT_LABELS = PROJECT_ROOT / "tests" / "fixtures" / "classify" / "heldout_expected.json"
TARGETS = {"category_accuracy": 0.90, "deadline_exact": 0.95, "false_closed": 0, "eligibility_accuracy": 0.85}


def announcement_from_row(row: dict) -> Announcement:
    """A labelled row as the normalizer would hand it over (published at 09:00 UTC)."""
    published = datetime.combine(date.fromisoformat(row["published"]), time(9, 0), tzinfo=timezone.utc)
    return Announcement(
        source_id=row.get("organisation", "bench").lower().replace(" ", "-"),
        organisation=row.get("organisation", ""),
        entry_key=row["id"],
        title=row["title"],
        url=None,
        guid=row["id"],
        summary=row["summary"],
        published_at=published,
        published_estimated=False,
        language=row.get("language", "en"),
        content_hash=hashlib.sha256((row["title"] + row["summary"]).encode()).hexdigest(),
    )


def fetched_at_from_row(row: dict) -> datetime:
    # 03:00 UTC is noon in Tokyo: the JST day is the labelled `fetched` day.
    return datetime.combine(date.fromisoformat(row["fetched"]), time(3, 0), tzinfo=timezone.utc)


def labelled_pairs(path: Path) -> tuple[list[tuple[dict, Announcement]], Counter]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(row["expected"], enrich(announcement_from_row(row), fetched_at=fetched_at_from_row(row)))
             for row in rows]
    return pairs, Counter(row.get("language") for row in rows)


def heldout_pairs(feed: Path = HELDOUT_FEED, labels: Path = HELDOUT_LABELS) -> list[tuple[dict, Announcement]]:
    """The held-out feed through parse_feed -> normalize -> enrich, as of its labelled fetch time."""
    from spacedigest.sources.feed import parse_feed
    from spacedigest.sources.models import Source
    from spacedigest.sources.normalize import normalize

    expected = json.loads(labels.read_text(encoding="utf-8"))
    fetched_at = datetime.fromisoformat(expected["fetched_at"])
    source = Source(id="heldout", organisation="Mixed", kind="feed", url="https://news.example.org/feed")
    parsed = parse_feed(feed.read_bytes(), url=source.url, content_type="application/rss+xml")
    announcements = normalize(parsed, source, fetched_at=fetched_at, base_url=source.url)
    return [(expected["items"][a.guid], enrich(a, fetched_at=fetched_at)) for a in announcements]


def evaluate(pairs: list[tuple[dict, Announcement]]) -> dict:
    """Figures for (expected labels, enriched announcement) pairs."""
    n = len(pairs)
    confusion: Counter = Counter()
    category_ok = deadline_ok = opening_ok = status_ok = japan_ok = false_closed = 0
    errors: list[str] = []
    for expected, got in pairs:
        confusion[(expected["category"], got.category)] += 1
        category_ok += expected["category"] == got.category
        exp_deadline = date.fromisoformat(expected["deadline"]) if expected["deadline"] else None
        dl_match = got.deadline == exp_deadline and got.deadline_kind == expected["deadline_kind"]
        deadline_ok += dl_match
        exp_opening = expected.get("opening_date")
        opening_ok += got.opening_date == (date.fromisoformat(exp_opening) if exp_opening else None)
        status_ok += got.status == expected["status"]
        japan_ok += got.japan_relevant == expected["japan_relevant"]
        false_closed += got.status == "closed" and expected["status"] != "closed"
        problems = []
        if expected["category"] != got.category:
            problems.append(f"category {got.category} (rule {got.category_rule}) != {expected['category']}")
        if not dl_match:
            problems.append(f"deadline {got.deadline}/{got.deadline_kind} != {exp_deadline}/{expected['deadline_kind']}")
        if got.status != expected["status"]:
            problems.append(f"status {got.status} != {expected['status']}")
        if got.japan_relevant != expected["japan_relevant"]:
            problems.append(f"japan {got.japan_relevant} ({got.japan_reason}) != {expected['japan_relevant']}")
        if problems:
            errors.append(f"{got.guid or got.entry_key}: {got.title[:60]!r}: " + "; ".join(problems))
    per_category = {}
    for cat in CATEGORIES:
        tp = confusion[(cat, cat)]
        predicted = sum(v for (e, g), v in confusion.items() if g == cat)
        actual = sum(v for (e, g), v in confusion.items() if e == cat)
        per_category[cat] = {
            "support": actual,
            "precision": tp / predicted if predicted else None,
            "recall": tp / actual if actual else None,
        }
    return {
        "n": n,
        "per_category": per_category,
        "category_accuracy": category_ok / n,
        "deadline_exact": deadline_ok / n,
        "opening_exact": opening_ok / n,
        "status_accuracy": status_ok / n,
        "japan_accuracy": japan_ok / n,
        "false_closed": false_closed,
        "errors": errors,
    }


MAY_APPLY = ("japan", "international")


def _amount_ok(expected: dict, got: Announcement) -> bool:
    want = expected.get("amount_max")
    if want is None or got.amount_max is None:
        return want is None and got.amount_max is None
    return got.amount_currency == expected.get("amount_currency") and abs(got.amount_max - want) <= 0.01 * want


def _event_ok(expected: dict, got: Announcement) -> bool:
    want = expected.get("event_date")
    if want is None:
        return got.event_date is None
    end = expected.get("event_end") or want
    return str(got.event_date) == want and str(got.event_end or got.event_date) == end


def evaluate_taking_part(pairs: list[tuple[dict, Announcement]]) -> dict | None:
    """Figures for the labels a Japanese reader decides by (issue 12), when the set has them:
    eligibility (a false "may apply" — japan/international for an item labelled restricted or
    unknown — counted apart), the event's days, the amount (value within 1 %, currency right)
    and the themes."""
    labelled = [(e, g) for e, g in pairs if "eligibility" in e]
    if not labelled:
        return None
    n = len(labelled)
    confusion: Counter = Counter((e["eligibility"], g.eligibility) for e, g in labelled)
    false_may = [(g.guid or g.entry_key, e["eligibility"], g.eligibility, g.eligibility_reason)
                 for e, g in labelled if g.eligibility in MAY_APPLY and e["eligibility"] not in MAY_APPLY]
    events = [(e, g) for e, g in labelled if e.get("event_date")]
    amounts = [(e, g) for e, g in labelled if e.get("amount_max") is not None]
    themes = [len(set(e.get("themes") or ()) & set(g.themes)) / len(set(e.get("themes") or ()) | set(g.themes))
              if (e.get("themes") or g.themes) else 1.0 for e, g in labelled]
    errors = []
    for e, g in labelled:
        problems = []
        if e["eligibility"] != g.eligibility:
            problems.append(f"eligibility {g.eligibility} ({g.eligibility_reason}) != {e['eligibility']}")
        if not _event_ok(e, g):
            problems.append(f"event {g.event_date}..{g.event_end} != {e.get('event_date')}..{e.get('event_end')}")
        if not _amount_ok(e, g):
            problems.append(f"amount {g.amount_max} {g.amount_currency} != {e.get('amount_max')} {e.get('amount_currency')}")
        if problems:
            errors.append(f"{g.guid or g.entry_key}: {g.title[:60]!r}: " + "; ".join(problems))
    return {
        "n": n,
        "eligibility_accuracy": sum(e["eligibility"] == g.eligibility for e, g in labelled) / n,
        "confusion": confusion,
        "false_may_apply": false_may,
        "events": len(events),
        "event_accuracy": sum(_event_ok(e, g) for e, g in events) / len(events) if events else None,
        "event_all": sum(_event_ok(e, g) for e, g in labelled) / n,
        "amounts": len(amounts),
        "amount_accuracy": sum(_amount_ok(e, g) for e, g in amounts) / len(amounts) if amounts else None,
        "amount_all": sum(_amount_ok(e, g) for e, g in labelled) / n,
        "themes_jaccard": sum(themes) / n,
        "errors": errors,
    }


def print_taking_part(f: dict) -> None:
    print(f"eligibility accuracy   {f['eligibility_accuracy']:.1%}   (target >= 85%)")
    print(f"false 'may apply'      {len(f['false_may_apply'])}   (target 0: a restricted or unknown item called japan/international)")
    for item in f["false_may_apply"]:
        print(f"  ! {item[0]}: labelled {item[1]}, called {item[2]} ({item[3]})")
    labels = ("japan", "international", "restricted", "unknown")
    print("  labelled \\ called " + " ".join(f"{c[:6]:>7}" for c in labels))
    for want in labels:
        print(f"  {want:<17}" + " ".join(f"{f['confusion'][(want, got)]:>7}" for got in labels))
    print(f"event days right       {_pct(f['event_accuracy'])} of {f['events']} events   ({f['event_all']:.1%} of all items, "
          f"no day where none is labelled)")
    print(f"amount right (1 %)     {_pct(f['amount_accuracy'])} of {f['amounts']} amounts   ({f['amount_all']:.1%} of all items, "
          f"none where none is labelled)")
    print(f"themes (Jaccard mean)  {f['themes_jaccard']:.1%}")


def enrich_speed(pairs: list[tuple[dict, Announcement]], rounds: int = 5) -> float:
    """Milliseconds per `enrich` call over the set's announcements (best of `rounds`, caches cleared)."""
    import time

    from spacedigest.sources import classify, folding

    items = [(g, datetime.now(timezone.utc)) for _, g in pairs]
    best = float("inf")
    for _ in range(rounds):
        for cached in (folding.nfkc, folding.fold, folding.fold_same_length, classify._dates):
            cached.cache_clear()
        start = time.perf_counter()
        for a, at in items:
            enrich(a, fetched_at=at)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(items)


def targets_met(figures: dict) -> list[str]:
    """The targets missed, as readable lines (empty when all are met)."""
    missed = []
    taking_part = figures.get("taking_part")
    if taking_part and taking_part["false_may_apply"]:
        missed.append(f"false 'may apply' {len(taking_part['false_may_apply'])} > 0")
    if taking_part and taking_part["eligibility_accuracy"] < TARGETS["eligibility_accuracy"]:
        missed.append(f"eligibility accuracy {taking_part['eligibility_accuracy']:.1%} < {TARGETS['eligibility_accuracy']:.0%}")
    if figures["category_accuracy"] < TARGETS["category_accuracy"]:
        missed.append(f"category accuracy {figures['category_accuracy']:.1%} < {TARGETS['category_accuracy']:.0%}")
    if figures["deadline_exact"] < TARGETS["deadline_exact"]:
        missed.append(f"deadline exact {figures['deadline_exact']:.1%} < {TARGETS['deadline_exact']:.0%}")
    if figures["false_closed"] > TARGETS["false_closed"]:
        missed.append(f"false closed {figures['false_closed']} > {TARGETS['false_closed']}")
    return missed


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSON lines file")
    parser.add_argument("--heldout", action="store_true", help="measure the held-out fixture feed instead")
    parser.add_argument("--feed", type=Path, help="measure this RSS/Atom feed instead (needs --expected)")
    parser.add_argument("--expected", type=Path, help="labels for --feed (format of heldout_expected.json)")
    parser.add_argument("--show-errors", action="store_true", help="list every item with a wrong field")
    parser.add_argument("--speed", action="store_true", help="also time enrich (ms per entry)")
    args = parser.parse_args(argv)

    if args.feed or args.expected:
        if not (args.feed and args.expected):
            parser.error("--feed and --expected go together")
        pairs = heldout_pairs(args.feed, args.expected)
        figures = evaluate(pairs)
        print(f"feed: {args.feed} — {figures['n']} announcements (parse_feed -> normalize -> enrich)")
    elif args.heldout:
        pairs = heldout_pairs()
        figures = evaluate(pairs)
        print(f"held-out feed: {HELDOUT_FEED.relative_to(PROJECT_ROOT)} — {figures['n']} announcements "
              f"(parse_feed -> normalize -> enrich)")
    else:
        pairs, languages = labelled_pairs(args.data)
        figures = evaluate(pairs)
        print(f"labelled set: {args.data} — {figures['n']} announcements "
              f"({', '.join(f'{k} {v}' for k, v in sorted(languages.items()))})")
    print(f"{'category':<12} {'support':>7} {'precision':>9} {'recall':>7}")
    for cat, f in figures["per_category"].items():
        print(f"{cat:<12} {f['support']:>7} {_pct(f['precision']):>9} {_pct(f['recall']):>7}")
    print(f"category accuracy      {figures['category_accuracy']:.1%}   (target >= 90%)")
    print(f"deadline exact match   {figures['deadline_exact']:.1%}   (target >= 95%)")
    print(f"opening date exact     {figures['opening_exact']:.1%}")
    print(f"status accuracy        {figures['status_accuracy']:.1%}")
    print(f"Japan relevance acc.   {figures['japan_accuracy']:.1%}")
    print(f"false 'closed'         {figures['false_closed']}   (target 0)")
    figures["taking_part"] = evaluate_taking_part(pairs)
    if figures["taking_part"]:
        print_taking_part(figures["taking_part"])
    if args.speed:
        print(f"enrich                 {enrich_speed(pairs):.3f} ms/entry")
    if args.show_errors or targets_met(figures):
        for line in figures["errors"] + (figures["taking_part"] or {}).get("errors", []):
            print("  x " + line)
    missed = targets_met(figures)
    if missed:
        print("TARGETS MISSED: " + "; ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
