"""The fact line: what an item is, who may apply, how much and by when, in one line (Japanese first;
the English digest has its own).

    【公募】ESA｜地球観測・海事｜最大200万ユーロ（約3.2億円、12月1日の換算）｜締切 2月26日（残り85日）｜
    応募資格: ESA加盟国の法人のみ（日本企業は現地法人・パートナー経由）

Pure: built from an item's fields for a given day (days left change, so the digest builds it again
for its own day) with a dated table of yen rates that staff edit (`rates.toml`, or the file named by
SPACEDIGEST_RATES). Its words live in sources/strings.toml (`headline`).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from spacedigest.sources.eligibility import Eligibility
from spacedigest.sources.i18n import strings

DEFAULT_RATES = Path(__file__).with_name("rates.toml")
CALLS = frozenset({"funding", "tender", "incubation", "partnership"})
# Calls whose eligibility is always said, "not stated" included; partnership news (agreements) and
# events say who may take part only when their text does.
ALWAYS_SAY_WHO = frozenset({"funding", "tender", "incubation"})


def says_who(category: str, eligibility: str) -> bool:
    """Does the fact line say who may take part?"""
    return category in ALWAYS_SAY_WHO or category in ("partnership", "event") and eligibility != "unknown"



@dataclass(frozen=True)
class Rates:
    """Yen per unit of each currency, as read on `on`."""

    on: date
    jpy_per_unit: dict[str, float]


@lru_cache(maxsize=8)
def load_rates(path: str | None = None) -> Rates:
    """The rates table (default: the built-in one); a one-line ValueError names a broken file."""
    where = Path(path) if path else DEFAULT_RATES
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
        rates = {str(k).upper(): float(v) for k, v in data["jpy_per_unit"].items()}
        day = data["date"]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"rates file {where}: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    if not isinstance(day, date):
        raise ValueError(f"rates file {where}: 'date' must be a date such as 2026-12-01")
    return Rates(day, rates)


def ja_number(value: float) -> str:
    """A number as Japanese writes amounts: 3.2億, 200万, 7.5万, 1,500万, 50,000."""
    if value >= 1e8:
        return _trim(value / 1e8, 2) + "億"
    if value >= 1e4:
        man = value / 1e4
        return (f"{man:,.0f}" if man >= 100 and man == int(man) else _trim(man, 2 if man < 10 else 1)) + "万"
    return f"{value:,.0f}"


def _trim(x: float, significant: int) -> str:
    """`x` to `significant` significant digits, without a trailing ".0"."""
    digits = max(0, significant - int(math.floor(math.log10(abs(x)))) - 1) if x else 0
    text = f"{round(x, digits):,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def en_number(value: float) -> str:
    """2M, 75k, 3.2bn, 500."""
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return _trim(value / size, 3) + suffix
    return f"{value:,.0f}"


def amount_text(value: float, currency: str, rates: Rates, lang: str) -> str:
    """「最大200万ユーロ（約3.2億円、12月1日の換算）」 / "up to 2M EUR (about 320M JPY, rate of 12/1)"."""
    s = strings(lang)["headline"]
    number = ja_number if lang == "ja" else en_number
    unit = s["currencies"].get(currency, currency)
    text = s["up_to"].format(amount=number(value) + unit)
    if currency != "JPY" and currency in rates.jpy_per_unit:
        yen = float(_trim(value * rates.jpy_per_unit[currency], 2).replace(",", ""))
        text += s["in_yen"].format(yen=number(yen) + s["currencies"]["JPY"], month=rates.on.month, day=rates.on.day)
    return text


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(day: date, today: date, lang: str) -> str:
    """A day, with its year only when it is not this year's or the coming months'."""
    with_year = not (day.year == today.year or 0 <= (day - today).days < 300)
    if lang == "ja":
        text = f"{day.month}月{day.day}日（{'月火水木金土日'[day.weekday()]}）"
        return f"{day.year}年{text}" if with_year else text
    text = f"{day.day} {_MONTHS_EN[day.month - 1]}"
    return f"{text} {day.year}" if with_year else text


def when_text(*, category: str, deadline: date | None, deadline_kind: str, status: str, opening_date: date | None,
              event_date: date | None, event_end: date | None, today: date, lang: str = "ja") -> str | None:
    s = strings(lang)["headline"]
    parts = []
    if category == "event" and event_date is not None:
        if event_end and event_end > event_date:
            end = _day(event_end, today, lang)
            if lang == "ja" and (event_end.year, event_end.month) == (event_date.year, event_date.month):
                end = end[end.index("月") + 1:]  # 5月12日（火）〜14日（木）
            parts.append(s["event_span"].format(start=_day(event_date, today, lang), end=end))
        else:
            parts.append(s["event_on"].format(date=_day(event_date, today, lang)))
    if deadline_kind == "rolling" and deadline is None:
        parts.append(s["rolling"])
    elif deadline is not None:
        days = (deadline - today).days
        if days < 0:
            parts.append(s["closed"].format(date=_day(deadline, today, lang)))
        else:
            left = s["today"] if days == 0 else s["day_left"] if days == 1 else s["days_left"].format(n=days)
            label = s["register_by"] if category == "event" else s["deadline"]
            parts.append(label.format(date=_day(deadline, today, lang)) + left)
    if status == "forthcoming" and opening_date is not None:
        parts.append(s["opens"].format(date=_day(opening_date, today, lang)))
    return ("・" if lang == "ja" else ", ").join(parts) or None


def fact_line(*, category: str, organisation: str, themes, amount_max: float | None, amount_currency: str | None,
              deadline: date | None, deadline_kind: str, status: str, opening_date: date | None,
              event_date: date | None, event_end: date | None, eligibility: Eligibility, today: date,
              rates: Rates | None = None, lang: str = "ja") -> str:
    """The one line of facts (a piece is left out when the item does not say it)."""
    s = strings(lang)["headline"]
    rates = rates or load_rates()
    parts = [s["kind"].format(kind=s["kinds"].get(category, s["kinds"]["other"])) + (organisation or "").strip()]
    if themes and lang == "ja":  # the theme tags are Japanese
        parts.append("・".join(list(themes)[:2]))
    if amount_max and amount_currency:
        parts.append(amount_text(amount_max, amount_currency, rates, lang))
    when = when_text(category=category, deadline=deadline, deadline_kind=deadline_kind, status=status,
                     opening_date=opening_date, event_date=event_date, event_end=event_end, today=today, lang=lang)
    if when:
        parts.append(when)
    if says_who(category, eligibility.eligibility):
        label = s["who_event"] if category == "event" else s["who"]
        parts.append(label + eligibility.line(lang, event=category == "event"))
    return ("｜" if lang == "ja" else " | ").join(p for p in parts if p)
