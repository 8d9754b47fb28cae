"""How much: the most one applicant can get, as a call states it ("up to €2M", "from €60k to €2M",
"5 million pounds", 「最大1億円」, « jusqu'à 500 000 € »). Pure; the vocabulary is `amounts.toml`.

Every amount written in the text is found with its currency; a range counts by its top. Amounts
said to be per applicant ("up to", "per project", 最大, 1件あたり) win over the others, a fund's
total counts only when nothing else is said, and money that is no offer to the reader (raised,
awarded, a contract won) does not count.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_RULES_PATH = Path(__file__).with_name("amounts.toml")
# A number as the partners write it: 1,000,000 / 500 000 / 2.5 / 2,5 / 75.000 / 1.000.000
_NUMBER = r"\d{1,3}(?:(?:[ \u00a0\u202f,.])\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_CLAUSE_END = re.compile(r"(?<!\d)[.!?;](?!\d)|[。；\n]")


@dataclass(frozen=True)
class Amount:
    value: float
    currency: str
    weight: int  # 2 per applicant, 1 as stated, 0 a fund's total
    phrase: str


@dataclass(frozen=True)
class AmountRules:
    before: re.Pattern  # currency sign or word, then the number
    after: re.Pattern  # the number, then its currency
    japanese: re.Pattern  # 3億5,000万円, 200万ユーロ
    currencies: dict[str, str]  # word -> ISO code
    multipliers: dict[str, float]
    per_applicant_before: re.Pattern
    per_applicant_after: re.Pattern
    total: re.Pattern
    not_an_offer: re.Pattern
    categories: frozenset[str]


def _alternation(items) -> str:
    return "(?:" + "|".join(sorted(items, key=len, reverse=True)) + ")"


def load_rules(path: Path | None = None) -> AmountRules:
    return _load_cached(str(Path(path) if path else DEFAULT_RULES_PATH))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> AmountRules:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    currencies = {word: code for code, words in data["currency"].items() for word in words}
    multipliers = {k: float(v) for k, v in data["multiplier"].items()}
    latin_mult = [re.escape(m) for m in multipliers if m.isascii() and m.strip()]
    words = _alternation(re.escape(w) for w in currencies if not w.startswith(("万", "億")))
    signs_first = _alternation(re.escape(w) for w in currencies if not w[0].isalpha() or w in ("eur", "gbp", "usd", "chf", "cad", "jpy", "us$", "c$"))
    cues = data["cues"]

    def words_of(items) -> re.Pattern:
        return re.compile(r"(?<![a-z])" + _alternation(items) + r"(?![a-z])")

    return AmountRules(
        before=re.compile(rf"(?<![a-z])(?P<cur>{signs_first})\s?(?P<num>{_NUMBER})(?:\s?(?P<mult>{_alternation(latin_mult)})(?![a-z]))?"),
        after=re.compile(rf"(?P<num>{_NUMBER})\s?(?:(?P<mult>{_alternation(latin_mult)})\s?)?(?:of |d.)?(?P<cur>{words})(?![a-z])"),
        japanese=re.compile(rf"(?P<oku>{_NUMBER})\s?億(?:\s?(?P<man2>{_NUMBER})\s?万)?\s?(?P<cur>円|ユーロ|ポンド|ドル|米ドル|スイスフラン)"
                            rf"|(?P<man>{_NUMBER})\s?万\s?(?P<cur2>円|ユーロ|ポンド|ドル|米ドル|スイスフラン)"),
        currencies=currencies,
        multipliers=multipliers,
        per_applicant_before=words_of(cues["per_applicant_before"]),
        per_applicant_after=words_of(cues["per_applicant_after"]),
        total=words_of(cues["total"]),
        not_an_offer=words_of(cues["not_an_offer"]),
        categories=frozenset(cues["categories"]),
    )


def _number(text: str) -> float | None:
    """'1,000,000' 1e6; '500 000' 5e5; '2,5' 2.5; '2.5' 2.5; '75.000' 75000 (a group of three is thousands)."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    groups = re.split(r"[ ,.]", text)
    separators = re.findall(r"[ ,.]", text)
    if not separators:
        return float(text)
    if len(separators) == 1 and len(groups[1]) != 3:
        return float(f"{groups[0]}.{groups[1]}")  # a decimal mark: 2,5 or 2.5
    if all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))
    # "1,234.5" or "1 234,5": the last separator is the decimal mark
    return float("".join(groups[:-1]) + "." + groups[-1])


def _mentions(clause: str, rules: AmountRules) -> list[tuple[int, int, float, str]]:
    """(start, end, value, currency) of every amount in a clause, the overlapping forms read once."""
    found: list[tuple[int, int, float, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, value: float | None, currency: str | None) -> None:
        if value and currency and all(end <= s or start >= e for s, e in taken):
            found.append((start, end, value, currency))
            taken.append((start, end))

    for m in rules.japanese.finditer(clause):
        if m["oku"]:
            value = _number(m["oku"]) * 1e8 + (_number(m["man2"]) * 1e4 if m["man2"] else 0)
            add(m.start(), m.end(), value, rules.currencies.get(m["cur"]))
        else:
            add(m.start(), m.end(), _number(m["man"]) * 1e4, rules.currencies.get(m["cur2"]))
    for rx in (rules.before, rules.after):
        for m in rx.finditer(clause):
            currency = m["cur"].strip()
            value = _number(m["num"])
            mult = (m["mult"] or "").strip()
            factor = rules.multipliers.get(mult, 1.0)
            if currency in ("keur", "keuro", "k€"):
                factor *= 1e3
            elif currency in ("meur", "meuro", "m€"):
                factor *= 1e6
            if value is not None:
                add(m.start(), m.end(), value * factor, rules.currencies.get(currency))
    return sorted(found)


def _weight(clause: str, start: int, end: int, rules: AmountRules) -> int:
    before, after = clause[max(0, start - 40):start], clause[end:end + 40]
    if rules.per_applicant_before.search(before) or rules.per_applicant_after.match(after.lstrip(" ,(（")):
        return 2
    if rules.total.search(before) or rules.total.search(after[:20]):
        return 0
    return 1


def find_amount(text: str, *, category: str, rules: AmountRules | None = None) -> Amount | None:
    """The most one applicant can get, or None (no amount, or money that is no offer)."""
    rules = rules or load_rules()
    if category not in rules.categories or not text:
        return None
    folded = unicodedata.normalize("NFKC", text).lower()
    best: Amount | None = None
    for clause in _CLAUSE_END.split(folded):
        mentions = _mentions(clause, rules)
        if not mentions or rules.not_an_offer.search(clause):
            continue
        for index, (start, end, value, currency) in enumerate(mentions):
            weight = _weight(clause, start, end, rules)
            # "from €60k to €2M", "between £10,000 and £50,000": the range's top is what one can get
            if index and re.fullmatch(r"\s*(?:-|–|to|and|a|à|au|~|〜|～|から)\s*", clause[mentions[index - 1][1]:start]):
                weight = max(weight, 2)
            amount = Amount(value, currency, weight, clause[start:end])
            if best is None or (amount.weight, amount.value) > (best.weight, best.value):
                best = amount
    return best
