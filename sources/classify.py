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
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import ahocorasick

from spacedigest.sources.dates import find_dates, midnight_utc, parse_date
from spacedigest.sources.models import Announcement

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
    japan_reasons_ja: dict[str, str] = field(default_factory=dict)  # reason -> its Japanese wording


# --- text folding and term matching -------------------------------------------------------

_PUNCT_MAP = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2010": "-", "\u2011": "-", "\u2012": "-",
                            "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u301c": "~", "\uff5e": "~"})


@lru_cache(maxsize=64)
def _nfkc(text: str) -> str:
    # cached, like the folds below: one enrich reads the same text for several questions
    return unicodedata.normalize("NFKC", text or "")


def _latin_base(ch: str) -> str:
    """"é" -> "e"; other scripts untouched (stripping marks from "で" would make it "て")."""
    if ch < "\u00c0" or ch > "\u024f":
        return ch
    return "".join(c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn")


def _folding_tables() -> tuple[dict[int, str], dict[int, str]]:
    """Per-character tables for str.translate (fast): fold = lower-case and accent-free,
    strip = accent-free only; both keep one character per character."""
    fold, strip = {}, {}
    for cp in range(0x41, 0x10000):
        ch = chr(cp)
        base = _latin_base(ch)
        lowered = base.lower()
        folded = lowered if len(lowered) == 1 else (ch.lower() if len(ch.lower()) == 1 else ch)
        if folded != ch:
            fold[cp] = folded
        if len(base) == 1 and base != ch:
            strip[cp] = base
    return fold, strip


_FOLD_TABLE, _STRIP_TABLE = _folding_tables()


@lru_cache(maxsize=64)
def _fold_same_length(nfkc_text: str) -> str:
    """Lower-case, accent-free, one character per character, so offsets match `find_dates`."""
    return nfkc_text.translate(_PUNCT_MAP).translate(_FOLD_TABLE)


def _strip_accents_same_length(nfkc_text: str) -> str:
    """Accents off, case kept: `find_dates` knows "fevrier" but not "février"."""
    return nfkc_text.translate(_STRIP_TABLE)


@lru_cache(maxsize=256)
def _dates(nfkc_text: str, after: date) -> tuple[tuple[int, int, date, bool], ...]:
    # cached: one enrich reads the same text for its deadline and for its opening date
    return tuple(find_dates(_strip_accents_same_length(nfkc_text), after=after))


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    # cached: one enrich folds the same title and text for several questions
    return _fold_same_length(_nfkc(text))


def _term_regex(term: str) -> tuple[str, str]:
    """A rules-file phrase as a regex: accent/case-insensitive, flexible spaces and hyphens,
    whole words for Latin script, a trailing `*` for any word ending ("grant*").

    Split as (its first character, the regex for the rest), so that `_compile` can group terms by
    their first character; ("", the whole regex) when it does not start with a plain character."""
    folded = _fold(term.strip())
    prefix = folded.endswith("*")
    folded = folded.rstrip("*")
    parts = []
    for ch in folded:
        if ch == " ":
            parts.append(r"[\s\-]+")
        elif ch == "-":
            parts.append(r"[\s\-]?")
        else:
            parts.append(re.escape(ch))
    first = folded[:1] if folded[:1] not in ("", " ", "-") else ""
    if first:
        parts = parts[1:]
    if first.isascii() and first.isalnum():
        # "no letter before the word", checked after its first letter ("g(?<![a-z0-9]g)rant" =
        # "(?<![a-z0-9])grant"): a pattern that starts with a literal lets `re` skip every position
        # not holding that letter, a leading lookbehind makes it try all alternatives everywhere.
        parts.insert(0, rf"(?<![a-z0-9]{first})")
    body = "".join(parts)
    if prefix:
        body += r"[a-z]*"
    if folded[-1:].isascii() and folded[-1:].isalnum():
        body += r"(?![a-z0-9])"
    return first, body


def _alternation(terms: list[str]) -> list[str]:
    """The terms as alternatives, one per first character ("g(?:rant|oal)"), terms in file order
    within each. The same matches as the plain alternation: at a position only the terms starting
    with the character there can match, and among them the first listed still wins. `re` tries
    alternatives one by one at every position: this makes ~50 tries a handful."""
    split = [_term_regex(t) for t in terms]
    if any(not first for first, _ in split):  # a term with no plain first character: keep the order
        return [re.escape(first) + rest for first, rest in split]
    groups: dict[str, list[str]] = {}
    for first, rest in split:
        groups.setdefault(first, []).append(rest)
    return [re.escape(first) + (rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")")
            for first, rests in groups.items()]


class _Pieces:
    """Which of a rules file's literal pieces a text holds, found in one pass (Aho-Corasick, in C)
    instead of one `piece in text` scan per piece: there are ~500 pieces and every rule asks about
    the same few texts (title, body, both), so this is shared by all rules and remembers its answer."""

    def __init__(self):
        self._automaton = ahocorasick.Automaton()
        self.present = lru_cache(maxsize=16)(self._scan)

    def add(self, piece: str) -> None:
        self._automaton.add_word(piece, piece)

    def build(self) -> None:
        if len(self._automaton):
            self._automaton.make_automaton()

    def _scan(self, text: str) -> frozenset[str]:
        if not len(self._automaton):
            return frozenset()
        return frozenset(piece for _, piece in self._automaton.iter(text))


class _Terms:
    """A compiled alternation of rule terms (and raw patterns, after them) with a cheap prefilter:
    every match of a term contains its longest literal piece, so in a text holding none of the
    pieces no term can match anywhere, and the alternation finds exactly what its patterns alone
    find (nothing when there are none). Most rules match most texts not at all."""

    __slots__ = ("regex", "patterns_only", "literals", "pieces")

    def __init__(self, regex: re.Pattern, patterns_only: re.Pattern | None, literals: frozenset[str] | None,
                 pieces: _Pieces):
        self.regex = regex
        self.patterns_only = patterns_only
        self.literals = literals  # None: no prefilter, always run the whole regex
        self.pieces = pieces

    def _regex_for(self, text: str) -> re.Pattern | None:
        if self.literals is None or not self.literals.isdisjoint(self.pieces.present(text)):
            return self.regex
        return self.patterns_only

    def finditer(self, text: str):
        regex = self._regex_for(text)
        return regex.finditer(text) if regex else iter(())

    def search(self, text: str):
        regex = self._regex_for(text)
        return regex.search(text) if regex else None


def _longest_piece(term: str) -> str:
    folded = _fold(term.strip()).rstrip("*")
    return max(re.split(r"[\s\-]+", folded), key=len)


def _compile(pieces: _Pieces, terms: list[str], patterns: list[str] | None = None) -> _Terms:
    """The terms and patterns as one regex; their literal pieces go into `pieces` (built later)."""
    # Terms hold no "|" and go in bare: when every alternative starts with a literal, `re` scans
    # for those first characters in C (a group around each alternative hides them).
    wrapped = [f"(?:{p})" for p in patterns or []]
    alternatives = _alternation(terms) + wrapped
    if not alternatives:
        return _Terms(re.compile(r"(?!x)x"), None, frozenset(), pieces)  # matches nothing
    literals = frozenset(_longest_piece(t) for t in terms)
    if "" in literals:
        literals = None
    for piece in literals or ():
        pieces.add(piece)
    return _Terms(re.compile("|".join(alternatives)), re.compile("|".join(wrapped)) if wrapped else None,
                  literals, pieces)


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
    in_title = _rule_hits(_fold(title), rules, title=True)
    in_text = _rule_hits(_fold(text), rules, title=False)
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
    folded = _fold(f"{title}\n{text}")
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
            # "申込締切 2024年11月15日": a cue a date follows at once is that date's label, not a postfix
            if any(0 <= d[0] - m.end() <= _LABEL_GAP and not nfkc_text[m.end():d[0]].strip(" :：") for d in dates):
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
    folded = _fold(f"{title}\n{text}")
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


def enrich(a: Announcement, *, fetched_at: datetime, zone: str = "UTC", rules: Rules | None = None) -> Announcement:
    """A copy of `a` with category, deadline, opening and event dates, status and Japan relevance.

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
    flag, reason = japan_relevance(a.title, body, rules)
    published_at, estimated = a.published_at, a.published_estimated
    if estimated and opening_date is not None:
        opened = midnight_utc(opening_date, zone)
        if opened <= fetched_at:
            published_at, estimated = opened, False
    return dataclasses.replace(
        a,
        published_at=published_at,
        published_estimated=estimated,
        category=category,
        category_rule=category_rule,
        deadline=found_deadline,
        deadline_kind=kind,
        opening_date=opening_date,
        status=status_on(fetched, deadline=found_deadline, deadline_kind=kind, opening_date=opening_date,
                         category=category),
        japan_relevant=flag,
        japan_reason=reason,
        event_date=event_date,
        event_end=event_end,
    )


def japan_reason_label(reason: str | None, lang: str, rules: Rules | None = None) -> str | None:
    """The Japan-relevance reason in the digest's language (rules.toml `reason_ja`)."""
    if not reason or lang != "ja":
        return reason
    return (rules or load_rules()).japan_reasons_ja.get(reason, reason)
