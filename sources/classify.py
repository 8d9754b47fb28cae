"""Enrichment: what kind of opportunity an announcement is, by when to act, whether it is open,
and whether it concerns Japanese applicants.

Pure functions. The vocabulary (keywords in English, French and Japanese, deadline cues, rolling
phrases, Japan-relevance terms) lives in `rules.toml` so staff can tune it without touching code;
every decision records the rule that made it.

How a deadline is found: a date only counts when a deadline cue ("Closing date", "date limite",
"締切", ...) stands right before it, or a Japanese postfix cue ("まで", "必着") right after it.
A date with no cue (an event day, a launch date) never becomes a deadline.
"""
from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from spacedigest.sources.amounts import find_amount
from spacedigest.sources.dates import find_dates, find_day_ranges, midnight_utc, parse_date
from spacedigest.sources.eligibility import decide as decide_eligibility
from spacedigest.sources.folding import fold
from spacedigest.sources.folding import fold_same_length as _fold_same_length
from spacedigest.sources.folding import nfkc as _nfkc
from spacedigest.sources.folding import strip_accents_same_length as _strip_accents_same_length
from spacedigest.sources.headline import Rates, fact_line
from spacedigest.sources.models import Announcement
from spacedigest.sources.terms import Pieces as _Pieces
from spacedigest.sources.terms import Terms as _Terms
from spacedigest.sources.terms import compile_terms as _compile
from spacedigest.sources.themes import themes_of

CATEGORIES = ("funding", "tender", "incubation", "partnership", "event", "programme", "other")
STATUSES = ("open", "forthcoming", "closed", "unknown")
DEADLINE_KINDS = ("date", "rolling", "none")

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")
JST = ZoneInfo("Asia/Tokyo")
# Calls that can be "open"; news about a programme that mentions an "open call" is not itself open.
ACTIONABLE = frozenset({"funding", "tender", "incubation", "partnership", "event"})
# Tiers of deadline cues, strongest first; the first tier that yields a date decides.
_TIERS = ("strong", "weak", "cutoff")
_ANY_DAY = date(2000, 1, 1)
# Characters (spaces, a colon) between a label and the date it introduces ("締切：1月31日").
_LABEL_GAP = 3
# Where a clause ends (checked on unfolded text: a capital letter starts a sentence). A single
# newline is not an end: flattened HTML tables put "Closing date" and its value on two lines.
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z\u3040-\u30ff\u4e00-\u9fff])|[。;；]|\n\s*\n")


@dataclass(frozen=True)
class CategoryRule:
    id: str
    category: str
    weight: float
    regex: "_Terms"
    title_only: bool = False  # headline verbs ("ESA selects ...") that in a body often speak of the future


@dataclass(frozen=True)
class JapanRule:
    id: str
    reason: str
    regex: "_Terms"


@dataclass(frozen=True)
class Cue:
    id: str
    tier: str  # strong | weak | cutoff
    regex: "_Terms"
    postfix: bool  # Japanese "1月31日まで": the date comes before the cue
    past: bool  # "closed on 15 March": a year-less date is the last occurrence, not the next
    range_only: bool  # "募集期間", "open from": a deadline only as the end of a range


@dataclass(frozen=True)
class RelativeRule:
    id: str
    regex: re.Pattern  # named groups n and unit, or none with a fixed `days`
    days: int | None
    units: dict[str, int]


@dataclass(frozen=True)
class Rules:
    category_rules: tuple[CategoryRule, ...]
    title_factor: float
    min_score: float
    tie_order: tuple[str, ...]
    call_to_action: "_Terms"
    call_categories: frozenset[str]
    news_rule_id: str
    japan_rules: tuple[JapanRule, ...]
    japan_negation: re.Pattern  # "third countries are not eligible" does not make an item relevant
    rolling: tuple[tuple[str, "_Terms"], ...]
    cues: tuple[Cue, ...]
    opening_cues: tuple["_Terms", ...]
    relative: tuple[RelativeRule, ...]
    range_separator: re.Pattern
    blockers: tuple[re.Pattern, ...]
    window: int
    postfix_window: int
    event_cues: "_Terms"
    japan_reasons_ja: dict[str, str] = field(default_factory=dict)  # reason -> its Japanese wording


@lru_cache(maxsize=256)
def _dates(nfkc_text: str, after: date) -> tuple[tuple[int, int, date, bool], ...]:
    # cached: one enrich reads the same text for its deadline and for its opening date
    return tuple(find_dates(_strip_accents_same_length(nfkc_text), after=after))


# --- rules file ---------------------------------------------------------------------------


def load_rules(path: Path | None = None) -> Rules:
    """The rules from `path` (default: sources/rules.toml next to this module); cached."""
    return _load_rules_cached(str(Path(path) if path else DEFAULT_RULES_PATH))


@lru_cache(maxsize=8)
def _load_rules_cached(path: str) -> Rules:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    scoring = data.get("scoring", {})
    pieces = _Pieces()  # the prefilter shared by all the rules below
    category_rules = []
    for raw in data.get("rule", []):
        if raw["category"] not in CATEGORIES:
            raise ValueError(f"rules file {path}: rule {raw['id']} has unknown category {raw['category']!r}")
        category_rules.append(CategoryRule(raw["id"], raw["category"], float(raw.get("weight", 1)),
                                           _compile(pieces, raw.get("terms", []), raw.get("patterns")),
                                           raw.get("where", "any") == "title"))
    japan_rules = tuple(JapanRule(r["id"], r["reason"], _compile(pieces, r.get("terms", []), r.get("patterns")))
                        for r in data.get("japan", []))
    dl = data.get("deadline", {})
    cues = []
    for raw in dl.get("cue", []):
        if raw.get("tier", "strong") not in _TIERS:
            raise ValueError(f"rules file {path}: cue {raw['id']} has unknown tier {raw.get('tier')!r}")
        cues.append(Cue(raw["id"], raw.get("tier", "strong"), _compile(pieces, raw.get("terms", []), raw.get("patterns")),
                        bool(raw.get("postfix", False)), bool(raw.get("past", False)),
                        bool(raw.get("range_only", False))))
    relative = tuple(
        RelativeRule(r["id"], re.compile(r["pattern"]), r.get("days"),
                     {k: int(v) for k, v in r.get("units", {}).items()})
        for r in dl.get("relative", [])
    )
    rules = Rules(
        japan_reasons_ja={r["reason"]: r["reason_ja"] for r in data.get("japan", []) if r.get("reason_ja")},
        category_rules=tuple(category_rules),
        title_factor=float(scoring.get("title_factor", 2.0)),
        min_score=float(scoring.get("min_score", 1.0)),
        tie_order=tuple(scoring.get("tie_order", CATEGORIES)),
        call_to_action=_compile(pieces, data.get("call_to_action", {}).get("terms", []),
                                data.get("call_to_action", {}).get("patterns")),
        call_categories=frozenset(data.get("call_to_action", {}).get("categories", [])),
        news_rule_id=data.get("call_to_action", {}).get("rule_id", "programme.news-without-call"),
        japan_rules=japan_rules,
        japan_negation=re.compile("|".join(data.get("japan_negation", {}).get("patterns", [])) or r"(?!x)x"),
        rolling=tuple((r["id"], _compile(pieces, r.get("terms", []), r.get("patterns"))) for r in dl.get("rolling", [])),
        cues=tuple(cues),
        opening_cues=tuple(_compile(pieces, [t]) for t in dl.get("opening_cues", []))
        + tuple(re.compile(p) for p in dl.get("opening_patterns", [])),
        relative=relative,
        range_separator=re.compile(dl.get("range_separator", r"\s*(?:-|~|to|au|から)\s*")),
        blockers=tuple(re.compile(p) for p in dl.get("blockers", [])),
        window=int(dl.get("window", 80)),
        postfix_window=int(dl.get("postfix_window", 16)),
        event_cues=_compile(pieces, data.get("event", {}).get("cues", [])),
    )
    pieces.build()
    return rules


# --- category -----------------------------------------------------------------------------


def _rule_hits(folded: str, rules: Rules, title: bool) -> dict[int, bool]:
    """Which rules (by index) hit `folded`. A match inside a longer match of another rule does not
    count: "EIC Accelerator" is a funding instrument, not an accelerator."""
    spans = []
    for index, rule in enumerate(rules.category_rules):
        if rule.title_only and not title:
            continue
        spans.extend((m.start(), m.end(), index) for m in rule.regex.finditer(folded) if m.end() > m.start())
    hits: dict[int, bool] = {}
    for start, end, index in spans:
        if index in hits:  # one unshadowed match is enough
            continue
        shadowed = any(s <= start and end <= e and (e - s) > (end - start) and i != index for s, e, i in spans)
        if not shadowed:
            hits[index] = True
    return hits


def classify_category(title: str, text: str, rules: Rules | None = None) -> tuple[str, str]:
    """(category, id of the rule that decided). Title hits weigh `title_factor` times a body hit."""
    rules = rules or load_rules()
    in_title = _rule_hits(fold(title), rules, title=True)
    in_text = _rule_hits(fold(text), rules, title=False)
    scores: dict[str, float] = {}
    best_rule: dict[str, tuple[float, str]] = {}
    for index, rule in enumerate(rules.category_rules):
        contribution = rule.weight * (rules.title_factor * in_title.get(index, False) + in_text.get(index, False))
        if contribution:
            scores[rule.category] = scores.get(rule.category, 0.0) + contribution
            if contribution > best_rule.get(rule.category, (0.0, ""))[0]:
                best_rule[rule.category] = (contribution, rule.id)
    if not scores or max(scores.values()) < rules.min_score:
        return "other", "default"
    order = {c: i for i, c in enumerate(rules.tie_order)}
    winner = max(scores, key=lambda c: (scores[c], -order.get(c, len(order))))
    if winner in rules.call_categories and not _invites_action(title, text, rules):
        return "programme", rules.news_rule_id
    return winner, best_rule[winner][1]


def _invites_action(title: str, text: str, rules: Rules) -> bool:
    """Does the item ask the reader to do something (apply, submit, register), or is it news?
    A date after a deadline cue ("accepted until 10 April") is an invitation whatever the verb;
    a past one ("received before the 30 November deadline", "closed on") is not."""
    folded = fold(f"{title}\n{text}")
    if rules.call_to_action.search(folded) or any(regex.search(folded) for _, regex in rules.rolling):
        return True
    # The reference day only places year-less dates; any cued date will do here.
    found = _scan_deadlines(_nfkc(f"{title}\n{text}"), _ANY_DAY, _ANY_DAY, rules)
    return any(not f.past for f in found)


# --- dates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    tier: str
    deadline: date
    cue_id: str
    past: bool = False  # found after a "closed on" cue: news of a call that has ended


def _gap_is_clean(gap: str) -> bool:
    """Cue and date belong together only within one clause ("締切は、1月31日" is one clause;
    "1月31日締切、結果発表は3月15日" is two)."""
    return not _SENTENCE_END.search(gap) and ("、" not in gap or len(gap.strip()) <= 3)


def _range_end(folded: str, dates: tuple[tuple[int, int, date, bool], ...], index: int, rules: Rules) -> int:
    """When the date at `index` starts a range ("1 March to 30 April", "12月1日～1月31日"), the index
    of the range's end; else `index`."""
    if index + 1 >= len(dates):
        return index
    end = dates[index][1]
    # skip a weekday or time written after the first date: （金）, (Mon), 10:00
    tail = re.match(r"(?:\s*[(（][^)）]{1,6}[)）]|\s*\d{1,2}[:時]\d{0,2}分?|\s*(?:cet|cest|utc|jst))*", folded[end:])
    end += tail.end() if tail else 0
    between = folded[end:dates[index + 1][0]]
    return index + 1 if rules.range_separator.fullmatch(between) else index


def _previous_occurrence(day: date, published: date) -> date:
    if day <= published:
        return day
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _blocked(folded: str, start: int, end: int, rules: Rules) -> bool:
    around = folded[max(0, start - 30):end + 12]
    return any(b.search(around) for b in rules.blockers)


def _labels_a_date(nfkc_text: str, m: re.Match, dates) -> bool:
    """"申込締切 2024年11月15日": a postfix cue that a date follows at once is that date's label."""
    return any(0 <= d[0] - m.end() <= _LABEL_GAP and not nfkc_text[m.end():d[0]].strip(" :：") for d in dates)


def _cue_matches(folded: str, rules: Rules) -> list[tuple[Cue, re.Match]]:
    """Every cue occurrence, minus those inside a longer one: "次回締切" (a cut-off of a rolling call)
    hides the "締切" inside it, "next deadline" hides "deadline"."""
    matches = [(cue, m) for cue in rules.cues for m in cue.regex.finditer(folded)]
    spans = [m.span() for _, m in matches]
    return [
        (cue, m) for (cue, m), (start, end) in zip(matches, spans)
        if not any(s <= start and end <= e and e - s > end - start for s, e in spans)
    ]


def _scan_deadlines(nfkc_text: str, published: date, fetched: date, rules: Rules) -> list[_Found]:
    folded = _fold_same_length(nfkc_text)
    dates = _dates(nfkc_text, published)
    found: list[_Found] = []
    # every cue answers with one of the text's dates: with none, the cues need not be looked for
    for cue, m in _cue_matches(folded, rules) if dates else ():
        if cue.postfix:
            if _labels_a_date(nfkc_text, m, dates):
                continue
            # the closest date ending just before the cue ("2025年1月31日（金）17時まで")
            before = [d for d in dates if d[1] <= m.start()]
            if before:
                start, end, day, _ = before[-1]
                if (m.start() - end <= rules.postfix_window and _gap_is_clean(nfkc_text[end:m.start()])
                        and not (cue.tier == "weak" and _blocked(folded, start, m.end(), rules))):
                    found.append(_Found(cue.tier, day, cue.id))
            continue
        following = [(i, d) for i, d in enumerate(dates) if d[0] >= m.end()]
        if not following:
            continue
        i, (start, end, day, _) = following[0]
        if start - m.end() > rules.window or not _gap_is_clean(nfkc_text[m.end():start]):
            continue
        if cue.tier == "weak" and _blocked(folded, m.start(), end, rules):
            continue
        last = _range_end(folded, dates, i, rules)
        if cue.range_only and last == i:
            continue
        day, had_year = dates[last][2], dates[last][3]
        if cue.past and not had_year:
            day = _previous_occurrence(day, published)
        found.append(_Found(cue.tier, day, cue.id, cue.past))
    for rel in rules.relative:
        for m in rel.regex.finditer(folded):
            found.append(_Found("strong", fetched + timedelta(days=_relative_days(rel, m)), rel.id))
    return found


def _relative_days(rel: RelativeRule, m: re.Match) -> int:
    if rel.days is not None:
        return rel.days
    return int(m["n"]) * rel.units.get(m["unit"], rel.units.get(m["unit"].rstrip("s"), 1))


def _rolling_rule(folded: str, rules: Rules) -> str | None:
    for rule_id, regex in rules.rolling:
        if regex.search(folded):
            return rule_id
    return None


def extract_deadline(text: str, *, published: date, fetched: date, rules: Rules | None = None) -> tuple[date | None, str]:
    """(deadline, kind) with kind "date", "rolling" or "none".

    A cued date wins over a rolling phrase ("open call ... closing date 17 May"), but a rolling
    phrase wins over a mere cut-off ("continuously open; next cut-off 30 September"): such a call
    never closes. Among dates of the deciding tier the latest is kept, so an extension ("extended
    from 15 to 31 January") or a two-stage call reports the date that still lets one act.
    """
    rules = rules or load_rules()
    nfkc_text = _nfkc(text)
    found = _scan_deadlines(nfkc_text, published, fetched, rules)
    rolling = _rolling_rule(_fold_same_length(nfkc_text), rules)
    for tier in _TIERS:
        if tier == "cutoff" and rolling:
            return None, "rolling"
        in_tier = [f.deadline for f in found if f.tier == tier]
        if in_tier:
            return max(in_tier), "date"
    if rolling:
        return None, "rolling"
    return None, "none"


def extract_opening_date(text: str, *, published: date, rules: Rules | None = None) -> date | None:
    """When applications open: a date after an opening cue ("Opening date:", "募集開始"), or the start
    of a cued range ("募集期間：12月1日～1月31日")."""
    rules = rules or load_rules()
    nfkc_text = _nfkc(text)
    folded = _fold_same_length(nfkc_text)
    dates = _dates(nfkc_text, published)
    if not dates:  # the answer is always one of the text's dates
        return None
    deadline_cues = [m.span() for _, m in _cue_matches(folded, rules)]
    for cue in rules.opening_cues:
        for m in cue.finditer(folded):
            for start, end, day, _ in dates:
                if start < m.end():
                    continue
                # "Opening date: Closing date: 31 December": a date belongs to the cue nearest before it
                claimed = any(m.end() <= s and e <= start for s, e in deadline_cues)
                if not claimed and start - m.end() <= rules.window and _gap_is_clean(nfkc_text[m.end():start]):
                    return day
                break
    for cue in rules.cues:
        if not cue.range_only:  # "extended from 13 to 20 December" is no opening
            continue
        for m in cue.regex.finditer(folded):
            for i, (start, end, day, _) in enumerate(dates):
                if start < m.end():
                    continue
                if start - m.end() <= rules.window and _gap_is_clean(nfkc_text[m.end():start]):
                    if _range_end(folded, dates, i, rules) != i:
                        return day
                break
    return None


def _claimed_dates(nfkc_text: str, dates, rules: Rules) -> set[int]:
    """Indexes of the dates a deadline or opening cue speaks of (a registration deadline, the day
    applications open): none of them is the day an event takes place."""
    folded = _fold_same_length(nfkc_text)
    claimed: set[int] = set()
    openings = [m for cue in rules.opening_cues for m in cue.finditer(folded)]
    for cue, m in [(c, m) for c, m in _cue_matches(folded, rules)] + [(None, m) for m in openings]:
        if cue is not None and cue.postfix:
            if _labels_a_date(nfkc_text, m, dates):
                continue
            before = [i for i, d in enumerate(dates) if d[1] <= m.start() and m.start() - d[1] <= rules.postfix_window]
            claimed.update(before[-1:])
            continue
        for i, (start, end, _, _) in enumerate(dates):
            if start >= m.end():
                if start - m.end() <= rules.window and _gap_is_clean(nfkc_text[m.end():start]):
                    claimed.add(i)
                    claimed.add(_range_end(folded, dates, i, rules))
                break
    return claimed


def extract_event_dates(text: str, *, published: date, rules: Rules | None = None) -> tuple[date | None, date | None]:
    """(first day, last day) an event takes place: the dates no deadline or opening cue claims; one
    right after an event cue ("takes place on", "開催日", "se tiendra") first, else the first of them."""
    rules = rules or load_rules()
    nfkc_text = _nfkc(text)
    dates = _dates(nfkc_text, published)
    ranges = find_day_ranges(_strip_accents_same_length(nfkc_text), after=published)
    if not dates and not ranges:
        return None, None
    claimed = _claimed_dates(nfkc_text, dates, rules)
    folded = _fold_same_length(nfkc_text)
    free: list[tuple[int, int, date, date]] = list(ranges)
    for i, (start, end, day, _) in enumerate(dates):
        if i in claimed or any(s <= start < e for s, e, _, _ in ranges):
            continue
        last = dates[_range_end(folded, dates, i, rules)][2]
        free.append((start, end, day, max(last, day)))
    if not free:
        return None, None
    free.sort()
    cue_ends = [m.end() for m in rules.event_cues.finditer(folded)]
    for start, end, first, last in free:
        if any(0 <= start - e <= 25 and _gap_is_clean(nfkc_text[e:start]) for e in cue_ends):
            return first, last
    start, end, first, last = free[0]
    return first, last


# --- status and Japan relevance -----------------------------------------------------------


def status_on(today: date, *, deadline: date | None, deadline_kind: str, opening_date: date | None,
              category: str) -> str:
    """open | forthcoming | closed | unknown on `today` (a JST date; recomputed at digest time).

    Closed only on a passed deadline: a wrong "closed" hides a live call from the reader, so every
    doubt stays "unknown".
    """
    if deadline is not None and deadline < today:
        return "closed"
    if opening_date is not None and opening_date > today:
        return "forthcoming"
    if deadline is not None:
        return "open"
    if deadline_kind == "rolling" and category in ACTIONABLE:
        return "open"
    return "unknown"


def japan_relevance(title: str, text: str, rules: Rules | None = None) -> tuple[bool, str | None]:
    """(flag, reason): the first Japan-relevance rule (in file order) that matches."""
    rules = rules or load_rules()
    folded = fold(f"{title}\n{text}")
    for rule in rules.japan_rules:
        for m in rule.regex.finditer(folded):
            if not rules.japan_negation.match(folded, m.end()):
                return True, rule.reason
    return False, None


# --- the whole enrichment -----------------------------------------------------------------


def read_marked_date(text: str | None, *, after: date, rules: Rules | None = None) -> date | None:
    """The date in a text a source marks as one (a deadline column, an event's date): a relative
    phrase of the rules ("Ends in 12 days", counted from `after`), else the first date written."""
    if not text:
        return None
    rules = rules or load_rules()
    folded = _fold_same_length(_nfkc(text))
    for rel in rules.relative:
        m = rel.regex.search(folded)
        if m:
            return after + timedelta(days=_relative_days(rel, m))
    return parse_date(text, after=after)


def read_marked_span(text: str | None, *, after: date, rules: Rules | None = None) -> tuple[date | None, date | None]:
    """(first day, last day) of a marked date or range ("12-14 May 2026", "3月1日～3日")."""
    if not text:
        return None, None
    rules = rules or load_rules()
    nfkc_text = _nfkc(text)
    found = _dates(nfkc_text, after)
    if not found:
        day = parse_date(text, after=after)
        return day, day
    last = _range_end(_fold_same_length(nfkc_text), found, 0, rules)
    return found[0][2], found[last][2]


# Why an item no Japan rule matched is Japan-relevant all the same: a Japanese company may apply.
_OPEN_TO_JAPAN_REASONS = {"international": "open to applicants outside Europe", "japan": "mentions Japan"}


def enrich(a: Announcement, *, fetched_at: datetime, zone: str = "UTC", rules: Rules | None = None,
           rates: Rates | None = None) -> Announcement:
    """A copy of `a` with what a reader needs: category, deadline, opening and event dates, status,
    Japan relevance, whether a Japanese company may take part (sources.eligibility), how much
    (sources.amounts), themes (sources.themes) and the Japanese fact line (sources.headline) as of
    the fetch day.

    Dates the source states (`a.stated`) win over what the text says. A call that gives no
    publication date was announced when it opened (midnight in `zone`, the source's zone).
    """
    rules = rules or load_rules()
    body = "\n".join(part for part in (a.summary, a.detail_text) if part)
    text = f"{a.title}\n{body}"
    published = a.published_at.date()
    fetched = fetched_at.astimezone(JST).date()
    stated = a.stated
    category, category_rule = classify_category(a.title, body, rules)
    marked = read_marked_date(stated.deadline_text, after=fetched, rules=rules)
    if stated.deadline is not None or marked is not None:
        found_deadline, kind = stated.deadline or marked, "date"
    else:
        found_deadline, kind = extract_deadline(text, published=published, fetched=fetched, rules=rules)
    opening_date = (stated.opening_date or read_marked_date(stated.opening_text, after=fetched, rules=rules)
                    or extract_opening_date(text, published=published, rules=rules))
    event_date, event_end = stated.event_date, stated.event_end or stated.event_date
    if event_date is None and stated.event_text:
        event_date, event_end = read_marked_span(stated.event_text, after=fetched, rules=rules)
    if event_date is None and category == "event":
        event_date, event_end = extract_event_dates(text, published=published, rules=rules)
    flag, reason = japan_relevance(a.title, body, rules)
    published_at, estimated = a.published_at, a.published_estimated
    if estimated and opening_date is not None:
        opened = midnight_utc(opening_date, zone)
        if opened <= fetched_at:
            published_at, estimated = opened, False
    status = status_on(fetched, deadline=found_deadline, deadline_kind=kind, opening_date=opening_date,
                       category=category)
    who = decide_eligibility(a.title, body, category=category, language=a.language)
    amount = find_amount(text, category=category)
    themes = themes_of(a.title, body)
    return dataclasses.replace(
        a,
        published_at=published_at,
        published_estimated=estimated,
        category=category,
        category_rule=category_rule,
        deadline=found_deadline,
        deadline_kind=kind,
        opening_date=opening_date,
        status=status,
        japan_relevant=flag or who.eligibility in ("japan", "international"),
        japan_reason=reason or _OPEN_TO_JAPAN_REASONS.get(who.eligibility),
        event_date=event_date,
        event_end=event_end,
        eligibility=who.eligibility,
        eligibility_region=who.region,
        eligibility_reason=who.reason,
        amount_max=amount.value if amount else None,
        amount_currency=amount.currency if amount else None,
        themes=themes,
        headline_ja=fact_line(category=category, organisation=a.organisation, themes=themes,
                              amount_max=amount.value if amount else None,
                              amount_currency=amount.currency if amount else None, deadline=found_deadline,
                              deadline_kind=kind, status=status, opening_date=opening_date, event_date=event_date,
                              event_end=event_end, eligibility=who, today=fetched, rates=rates, lang="ja"),
    )


def japan_reason_label(reason: str | None, lang: str, rules: Rules | None = None) -> str | None:
    """The Japan-relevance reason in the digest's language (rules.toml `reason_ja`)."""
    if not reason or lang != "ja":
        return reason
    return (rules or load_rules()).japan_reasons_ja.get(reason, reason)
