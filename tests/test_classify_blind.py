"""Blind batches for sources.classify (issue 4): feeds written before their labels were seen by the
rules' author, run through the real pipeline (parse_feed -> normalize -> enrich, via
sources.pipeline.interpret) at a fixed fetch time.

blind1 was used to tune the rules, so it must meet the issue's targets. blind2 and blind3 were not
tuned on; their thresholds are what their first runs honestly reached (blind2: category 97.5%,
deadline 97.5%; blind3: category 86.7%, deadline 93.3%), so a rule change that makes the classifier
generalise worse fails here even if the tuned sets still pass.

blind4 (60 items, written blind with fetch time 2026-04-15) first ran at category 88.3%, deadline
100%: the misses were a networking evening, a policy consultation read as procurement, a prize
challenge read as an accelerator, an annual report, an appointment, a French SME support scheme
("accompagnement") and a membership drive. The rules were then generalised for those kinds of
item (not the items), so blind4 is tuned on too; its thresholds are what it reaches after tuning
less one item of slack.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest

from spacedigest.sources.feed import parse_feed
from spacedigest.sources.models import Source
from spacedigest.sources.pipeline import interpret
from tests.conftest import FIXTURES

BLIND = FIXTURES / "classify"
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_FRENCH = re.compile(r"\b(?:le|la|les|des|du|aux)\b")

# (feed stem, category accuracy, deadline exact match, Japan relevance) — false "closed" is always 0.
THRESHOLDS = [
    ("blind1", 0.90, 0.95, 0.90),  # tuned on: the targets
    ("blind2", 0.95, 0.95, 0.90),  # unseen until the end: first run 97.5% / 97.5%
    ("blind3", 0.85, 0.90, 0.90),  # written after the rule changes: first run 86.7% / 93.3%
    ("blind4", 0.98, 0.98, 0.98),  # first run 88.3% / 100%; after tuning 100% / 100% (Japan 100%)
]


def _blind(stem: str):
    expected = json.loads((BLIND / f"{stem}_expected.json").read_text(encoding="utf-8"))
    fetched_at = datetime.fromisoformat(expected["fetched_at"])
    source = Source(id=stem, organisation="Mixed", kind="feed", url="https://news.example.org/feed")
    parsed = parse_feed((BLIND / f"{stem}.xml").read_bytes(), url=source.url, content_type="application/rss+xml")
    announcements = interpret(source, [parsed], url=source.url, fetched_at=fetched_at)
    return expected["items"], announcements


def _figures(labels: dict, announcements: list) -> dict:
    n = len(announcements)

    def deadline_ok(a) -> bool:
        label = labels[a.guid]
        want = date.fromisoformat(label["deadline"]) if label["deadline"] else None
        return a.deadline == want and a.deadline_kind == label["deadline_kind"]

    return {
        "category": sum(a.category == labels[a.guid]["category"] for a in announcements) / n,
        "deadline": sum(deadline_ok(a) for a in announcements) / n,
        "japan": sum(a.japan_relevant == labels[a.guid]["japan_relevant"] for a in announcements) / n,
        "false_closed": [a.guid for a in announcements
                         if a.status == "closed" and labels[a.guid]["status"] != "closed"],
        "wrong": [(a.guid, a.category, labels[a.guid]["category"], a.deadline, labels[a.guid]["deadline"])
                  for a in announcements
                  if a.category != labels[a.guid]["category"] or not deadline_ok(a)],
    }


@pytest.mark.parametrize("stem,category,deadline,japan", THRESHOLDS)
def test_blind_feed(stem, category, deadline, japan):
    labels, announcements = _blind(stem)
    assert sorted(a.guid for a in announcements) == sorted(labels), "every labelled item is parsed once"
    figures = _figures(labels, announcements)
    assert figures["false_closed"] == [], "an open call shown closed hides it from readers"
    assert figures["category"] >= category, figures["wrong"]
    assert figures["deadline"] >= deadline, figures["wrong"]
    assert figures["japan"] >= japan


def test_blind_feeds_mix_languages_and_categories():
    """The batches are only a fair test if they are as varied as the feeds the checker writes."""
    for stem, *_ in THRESHOLDS:
        labels, announcements = _blind(stem)
        # by script and words: the normalizer takes the language from the feed, which has none
        japanese = [a for a in announcements if _JAPANESE.search(a.title)]
        french = [a for a in announcements if a not in japanese and _FRENCH.search(f"{a.title} {a.summary}")]
        assert len(japanese) >= 0.2 * len(announcements) and len(french) >= 0.2 * len(announcements), stem
        assert len({label["category"] for label in labels.values()}) == 7, stem
        assert {label["status"] for label in labels.values()} >= {"open", "closed", "unknown"}, stem
