"""May a Japanese company take part? Statements about who may apply, read from an announcement's
text with the rules of `eligibility.toml`, weighed the safe way round (see that file's header).

Pure functions. Every decision names the rule and the phrase that made it (`reason`), as
`category_rule` does for categories.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Callable
from functools import lru_cache
from pathlib import Path

from spacedigest.sources.folding import fold
from spacedigest.sources.i18n import strings

DEFAULT_RULES_PATH = Path(__file__).with_name("eligibility.toml")
OUTCOMES = ("japan", "international", "restricted", "unknown")
# What one can take part in: calls, partnership programmes, events.
TAKING_PART = frozenset({"funding", "tender", "incubation", "partnership", "event"})
# The rules that let outsiders join without funding have ids starting so (eligibility.toml).
NO_FUNDING_RULE_PREFIX = "no-funding."
EFFECTS = ("japan", "international", "restriction", "outsiders_out", "japan_out", "no_funding", "domestic")
# Where a clause ends: a sentence's full stop (not a decimal point), ; ! ? 。 and line breaks.
_CLAUSE_END = re.compile(r"(?<!\d)[.!?;](?!\d)|[。；！？\n]")
# Words that turn a positive statement around when they follow it in the clause.
_REFUSAL_WINDOW = 50
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Just before a region's name, these say the opposite of "in the region".
_NOT_IN = re.compile(r"(?:non-?|non |hors (?:de )?(?:l')?|outside (?:the |of )?)$")


@dataclass(frozen=True)
class Region:
    name: str
    ja: str
    japan: bool  # the region includes Japan
    regex: re.Pattern
    names_japan: bool = True  # ... and says so (Asia-Pacific includes Japan without naming it)


@dataclass(frozen=True)
class Rule:
    id: str
    effect: str
    patterns: tuple["_Pattern", ...]
    gate: tuple[str, ...] = ()  # the text must hold one of these for the rule to run (none: always)

    def may_match(self, text: str) -> bool:
        return not self.gate or any(g in text for g in self.gate)

    def finditer(self, text: str, region_starts: "Callable[[], list[int]]"):
        """The rule's matches, the cheap way: a pattern that starts with a region is only tried
        where a region is named, a Japanese pattern only on a text with Japanese in it."""
        cjk = _CJK.search(text) is not None
        for pattern in self.patterns:
            if pattern.cjk and not cjk:
                continue
            if pattern.at_region:
                for start in region_starts():
                    m = pattern.regex.match(text, start)
                    if m:
                        yield m
            else:
                yield from pattern.regex.finditer(text)


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern
    at_region: bool  # starts with {region}
    cjk: bool  # written in Japanese


@dataclass(frozen=True)
class JapaneseProgramme:
    id: str
    bodies: re.Pattern
    foreign: re.Pattern
    invites: re.Pattern
    categories: frozenset[str]

    def applies(self, folded: str, category: str, language: str) -> re.Match | None:
        """A call of a Japanese body (or written in Japanese) naming no foreign one: the match names
        the body (None when it does not apply). Events are never assumed open: who may attend is
        read only where it is written."""
        if self.foreign.search(folded) or category not in self.categories or not self.invites.search(folded):
            return None
        body = self.bodies.search(folded)
        if body:
            return body
        return self.invites.search(folded) if language == "ja" else None


@dataclass(frozen=True)
class EligibilityRules:
    regions: tuple[Region, ...]
    any_region: re.Pattern  # every region's wording in one alternation
    rules: tuple[Rule, ...]
    refusal: re.Pattern
    programme: JapaneseProgramme
    outside_japan: re.Pattern  # outsiders so named are outside Japan
    outside_eu: re.Pattern  # ... outside the EU
    eu_programmes: re.Pattern  # joining one of these without funding: the money is for the EU and associates


@dataclass(frozen=True)
class Eligibility:
    """What the text says about who may take part."""

    eligibility: str = "unknown"  # japan | international | restricted | unknown
    region: str | None = None  # the region a restriction names, in English
    region_ja: str | None = None
    reason: str | None = None  # "rule-id: the phrase"
    without_funding: bool = False  # outsiders may join, but without the call's money

    def line(self, lang: str, *, event: bool = False) -> str:
        """Who may apply (or attend an event), in the words of the fact line (sources/strings.toml)."""
        words = strings(lang)["headline"]["eligibility_event" if event else "eligibility"]
        region = self.region_ja if lang == "ja" else self.region
        if self.eligibility == "restricted":
            if self.without_funding:
                return words["no_funding"].format(region=region or "EU")
            return words["restricted"].format(region=region) if region else words["restricted_no_region"]
        return words[self.eligibility]


def recorded(eligibility: str, region: str | None, reason: str | None, rules: EligibilityRules | None = None
             ) -> Eligibility:
    """An eligibility as the warehouse keeps it (outcome, region, reason), whole again."""
    rules = rules or load_rules()
    found: list[tuple[int, str]] = []
    rest = region or ""
    for known in sorted(rules.regions, key=lambda r: -len(r.name)):  # "EU and associated countries" before "EU"
        at = rest.find(known.name)
        if at >= 0:
            found.append((at, known.ja))
            rest = rest[:at] + "\0" * len(known.name) + rest[at + len(known.name):]
    ja = "・".join(name for _, name in sorted(found)) or region
    return Eligibility(eligibility, region, ja, reason,
                       without_funding=bool(reason and reason.startswith(NO_FUNDING_RULE_PREFIX)))


@dataclass(frozen=True)
class _Match:
    rule: str
    effect: str
    phrase: str
    regions: tuple[Region, ...]


# --- rules file ---------------------------------------------------------------------------------


def load_rules(path: Path | None = None) -> EligibilityRules:
    return _load_cached(str(Path(path) if path else DEFAULT_RULES_PATH))


def _alternation(items: list[str]) -> str:
    return "(?:" + "|".join(items) + ")"


def _words(items: list[str]) -> str:
    """The items as whole words: no Latin letter or digit right before or after ("fund" is not
    "funded"); Japanese items match anywhere."""
    return r"(?<![a-z0-9])" + _alternation(items) + r"(?![a-z0-9])"


@lru_cache(maxsize=4)
def _load_cached(path: str) -> EligibilityRules:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    vocab = {name: _words(items) for name, items in data.get("vocab", {}).items()}
    regions = tuple(Region(r["name"], r["ja"], bool(r.get("japan", False)), re.compile(_words(r["patterns"])),
                           bool(r.get("names_japan", True)))
                    for r in data.get("region", []))
    vocab["region"] = _words([p for r in data.get("region", []) for p in r["patterns"]])

    def expand(pattern: str, where: str) -> re.Pattern:
        try:
            return re.compile(re.sub(r"\{(\w+)\}", lambda m: vocab[m[1]], pattern))
        except KeyError as exc:
            raise ValueError(f"rules file {path}: {where} uses an unknown name {exc}") from None
        except re.error as exc:
            raise ValueError(f"rules file {path}: {where} is not a valid pattern: {exc}") from None

    rules = []
    for raw in data.get("rule", []):
        if raw["effect"] not in EFFECTS:
            raise ValueError(f"rules file {path}: rule {raw['id']} has unknown effect {raw['effect']!r}")
        patterns = tuple(_Pattern(expand(p, f"rule {raw['id']}"), p.startswith("{region}"), bool(_CJK.search(p)))
                         for p in raw["patterns"])
        rules.append(Rule(raw["id"], raw["effect"], patterns, tuple(raw.get("gate", ()))))
    programme = data["japanese_programme"]
    return EligibilityRules(
        regions=regions,
        any_region=re.compile(vocab["region"]),
        rules=tuple(rules),
        refusal=re.compile(vocab.get("refusal", "(?!x)x")),
        programme=JapaneseProgramme(
            programme["id"], re.compile(_alternation(programme["bodies"])), re.compile(_alternation(programme["foreign"])),
            re.compile(_words(programme["invites"])), frozenset(programme["categories"])),
        outside_japan=re.compile(_alternation(data["implied_region"]["outside_japan"])),
        outside_eu=re.compile(_alternation(data["implied_region"]["outside_eu"])),
        eu_programmes=re.compile(_alternation(data["implied_region"]["eu_programmes"])),
    )


# --- reading the text ---------------------------------------------------------------------------


def _clauses(folded: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_END.split(folded) if c.strip()]


def _regions_in(phrase: str, rules: EligibilityRules, *, outside: bool = False) -> tuple[Region, ...]:
    """The regions a phrase names, in order; the longest wording wins where two overlap ("EU Member
    States and associated countries" is one region, not "member states" and two more). A region
    said to be outside ("non-Member State", "hors de l'UE") counts only when `outside` is asked."""
    candidates = []
    for order, region in enumerate(rules.regions):
        for m in region.regex.finditer(phrase):
            if m.end() > m.start() and (outside or not _NOT_IN.search(phrase[max(0, m.start() - 12):m.start()])):
                candidates.append((-(m.end() - m.start()), order, m.start(), m.end(), region))
    taken: list[tuple[int, int]] = []
    kept: list[tuple[int, Region]] = []
    for _, _, start, end, region in sorted(candidates):
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
            kept.append((start, region))
    ordered: list[Region] = []
    for _, region in sorted(kept, key=lambda k: k[0]):
        if region not in ordered:
            ordered.append(region)
    return tuple(ordered)


# Clauses are joined with a mark no pattern crosses (patterns stop at "." and "。"), so each rule
# runs once over the text instead of once per clause.
_CLAUSE_MARK = " .。 "


def _statements(folded: str, rules: EligibilityRules) -> list[_Match]:
    text = _CLAUSE_MARK.join(_clauses(folded))
    found = []
    starts: list[int] | None = None

    def region_starts() -> list[int]:
        nonlocal starts
        if starts is None:
            starts = [m.start() for m in rules.any_region.finditer(text)]
        return starts

    seen: set[tuple[str, int, int]] = set()
    for rule in rules.rules:
        if not rule.may_match(text):
            continue
        for m in rule.finditer(text, region_starts):
            if (rule.id, m.start(), m.end()) in seen:
                continue
            seen.add((rule.id, m.start(), m.end()))
            phrase = m.group(0)
            if _CLAUSE_MARK in phrase:
                continue
            if rule.effect in ("japan", "international"):
                # "Japanese partners can join ... but are not eligible": the clause turns it around
                after = text[m.start():m.end() + _REFUSAL_WINDOW].split(_CLAUSE_MARK)[0]
                if rules.refusal.search(after):
                    continue
            found.append(_Match(rule.id, rule.effect, phrase,
                                _regions_in(phrase, rules, outside=rule.effect == "outsiders_out")))
    return found


_LIST_JOIN = r"\s*(?:,|and|or|et|ou|、|・|及び|および|と|や)\s*"


def _japan_among(match: _Match, rules: EligibilityRules) -> bool:
    """A restriction that lets Japan in: Japan alone ("日本国内の企業に限る") or in the list of regions
    ("Japanese and British companies"); Japan named elsewhere in the phrase ("UK organisations
    working with counterparts including Japan") does not."""
    japan = [r for r in match.regions if r.japan]
    if not japan:
        return False
    if len(japan) == len(match.regions):
        return True
    names = _alternation([r.regex.pattern for r in match.regions])
    return bool(re.search(f"{names}{_LIST_JOIN}{names}", match.phrase)) and any(
        re.search(f"{j.regex.pattern}{_LIST_JOIN}{names}|{names}{_LIST_JOIN}{j.regex.pattern}", match.phrase)
        for j in japan)


def _outsiders_region(match: _Match, rules: EligibilityRules) -> str | None:
    """Whom "outsiders are not eligible" keeps: the region outside which they are."""
    if rules.outside_japan.search(match.phrase):
        return "Japan"  # a Japanese call: abroad is outside Japan
    names = [r.name for r in match.regions if not r.japan]
    if names:
        return names[0]
    return "EU" if rules.outside_eu.search(match.phrase) else None


def _region_name(regions: list[Region]) -> tuple[str | None, str | None]:
    if not regions:
        return None, None
    return " and ".join(r.name for r in regions), "・".join(r.ja for r in regions)


def decide(title: str, text: str, *, category: str, language: str = "en",
           rules: EligibilityRules | None = None) -> Eligibility:
    """Who may take part, from the title and text of an announcement of `category`."""
    rules = rules or load_rules()
    folded = fold(f"{title}\n{text}")
    programme = rules.programme
    # Only what one can take part in has an eligibility: news, and agreements between organisations,
    # say nothing about who may apply even when they name Japanese companies.
    if category not in TAKING_PART or category == "partnership" and not programme.invites.search(folded):
        return Eligibility()
    matches = _statements(folded, rules)
    by_effect: dict[str, list[_Match]] = {}
    for m in matches:
        effect = m.effect
        if effect == "restriction":
            if not m.regions:
                continue  # "open to non-Member State partners" names no region they must be in
            if _japan_among(m, rules):
                # "open to Japanese and British companies", "日本国内の企業に限る"; a region that
                # includes Japan without naming it ("Asia-Pacific start-ups") is open to many countries
                effect = "japan" if any(r.japan and r.names_japan for r in m.regions) else "international"
        elif effect == "outsiders_out" and _outsiders_region(m, rules) == "Japan":
            effect = "domestic"  # 「海外法人は対象外」 in a Japanese call
        by_effect.setdefault(effect, []).append(m)

    def reason(m: _Match) -> str:
        return f"{m.rule}: {m.phrase.strip()[:120]}"

    restrictions = by_effect.get("restriction", []) + by_effect.get("outsiders_out", [])
    regions: list[Region] = []
    for m in by_effect.get("restriction", []):
        regions += [r for r in m.regions if not r.japan and r not in regions]
    if not regions:
        for m in by_effect.get("outsiders_out", []):
            name = _outsiders_region(m, rules)
            regions += [r for r in rules.regions if r.name == name and r not in regions]
    name, name_ja = _region_name(regions)

    if "no_funding" in by_effect:
        if not regions and rules.eu_programmes.search(folded):
            regions = [r for r in rules.regions if r.name == "EU and associated countries"]
            name, name_ja = _region_name(regions)
        return Eligibility("restricted", name, name_ja, reason(by_effect["no_funding"][0]), without_funding=True)
    if "japan_out" in by_effect:
        return Eligibility("restricted", name, name_ja, reason(by_effect["japan_out"][0]))
    if restrictions:
        return Eligibility("restricted", name, name_ja, reason(restrictions[0]))
    for effect in ("japan", "domestic"):
        if effect in by_effect:
            return Eligibility("japan", "Japan", "日本", reason(by_effect[effect][0]))
    if "international" in by_effect:
        return Eligibility("international", None, None, reason(by_effect["international"][0]))
    found = programme.applies(folded, category, language)
    if found:
        return Eligibility("japan", "Japan", "日本", f"{programme.id}: {found.group(0)}")
    return Eligibility()
