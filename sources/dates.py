"""Dates as the partners write them: English, French, Japanese and numeric day-first forms.

Pure functions. The common forms are matched by regular expressions (fast, predictable);
anything else falls back to `dateparser`, which knows many languages.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

MONTHS = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    # French (accents folded away before lookup)
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "février": 2, "août": 8, "décembre": 12, "févr": 2, "déc": 12,
    "janv": 1, "fevr": 2, "fev": 2, "avr": 4, "juil": 7, "sept.": 9, "oct.": 10, "nov.": 11, "dec.": 12,
}
_MONTH_RE = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))

# 2024年11月18日 / 2024年1月31日（金）
_JA_FULL = re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
# Japanese era years, as JAXA's procurement notices write them: 令和7年3月14日, 令和元年5月1日
_JA_ERA = re.compile(r"(?P<era>令和|平成)\s*(?P<y>元|\d{1,2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
_ERA_START = {"令和": 2018, "平成": 1988}  # 令和1年 = 2019, 平成1年 = 1989
_JA_MONTH_DAY = re.compile(r"(?<![\d年])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
# 2024-11-18, 2024/11/18, 2024.11.18 (year first)
_YMD = re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
# 06-05-2024, 06/05/2024, 6.5.2024 (day first, as in Europe)
_DMY = re.compile(r"(?<!\d)(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})(?!\d)")
# 18 March 2024, 18th March 2024, 1er juin 2019, 18 Juin 2019
_D_MONTH_Y = re.compile(
    rf"(?<![\w])(?P<d>\d{{1,2}})(?:st|nd|rd|th|er)?\s+(?P<mon>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}})(?!\d)",
    re.IGNORECASE,
)
# March 18, 2024 / Mar 18 2024
_MONTH_D_Y = re.compile(
    rf"(?<![\w])(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?!\d)",
    re.IGNORECASE,
)
# Year-less: 3 mars, 15 January, January 15
_D_MONTH = re.compile(rf"(?<![\w])(?P<d>\d{{1,2}})(?:st|nd|rd|th|er)?\s+(?P<mon>{_MONTH_RE})(?![\w])", re.IGNORECASE)
_MONTH_D = re.compile(rf"(?<![\w])(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\w\d])", re.IGNORECASE)

_DIGIT = re.compile(r"\d")
_ISO_DATETIME = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\.\d+)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)


def fold(text: str) -> str:
    """Lower-case, strip accents and turn full-width digits into ASCII (NFKC)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return text.lower()


def _make(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month(name: str) -> int | None:
    return MONTHS.get(fold(name).rstrip("."))


def _next_occurrence(m: int, d: int, after: date) -> date | None:
    """A year-less day and month: the first such date on or after `after`."""
    for year in (after.year, after.year + 1):
        candidate = _make(year, m, d)
        if candidate and candidate >= after:
            return candidate
    return None


def find_dates(text: str, *, after: date | None = None) -> list[tuple[int, int, date, bool]]:
    """Every date in `text` as (start, end, date, had_year), in order of appearance.

    Year-less dates are only returned when `after` is given (they take the next occurrence).
    """
    if not text:
        return []
    text = unicodedata.normalize("NFKC", text)
    if not _DIGIT.search(text):  # every form below has digits
        return []
    japanese = "月" in text  # in every Japanese form: those regexes need not run without it
    found: list[tuple[int, int, date, bool]] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    def add(match: re.Match, value: date | None, had_year: bool) -> None:
        if value and free(match.start(), match.end()):
            found.append((match.start(), match.end(), value, had_year))
            taken.append((match.start(), match.end()))

    for m in _JA_FULL.finditer(text) if japanese else ():
        add(m, _make(int(m["y"]), int(m["m"]), int(m["d"])), True)
    for m in _JA_ERA.finditer(text) if japanese else ():
        year = _ERA_START[m["era"]] + (1 if m["y"] == "元" else int(m["y"]))
        add(m, _make(year, int(m["m"]), int(m["d"])), True)
    for m in _YMD.finditer(text):
        add(m, _make(int(m["y"]), int(m["m"]), int(m["d"])), True)
    for m in _DMY.finditer(text):
        add(m, _make(int(m["y"]), int(m["m"]), int(m["d"])), True)
    for m in _D_MONTH_Y.finditer(text):
        mon = _month(m["mon"])
        add(m, mon and _make(int(m["y"]), mon, int(m["d"])), True)
    for m in _MONTH_D_Y.finditer(text):
        mon = _month(m["mon"])
        add(m, mon and _make(int(m["y"]), mon, int(m["d"])), True)
    if after is not None:
        for m in _JA_MONTH_DAY.finditer(text) if japanese else ():
            add(m, _next_occurrence(int(m["m"]), int(m["d"]), after), False)
        for rx in (_D_MONTH, _MONTH_D):
            for m in rx.finditer(text):
                mon = _month(m["mon"])
                # "may 5" is also plain English ("may"): only accept it capitalised.
                if mon == 5 and m["mon"] == "may":
                    continue
                add(m, mon and _next_occurrence(mon, int(m["d"]), after), False)
    found.sort()
    return found


# Day ranges inside one month: "12-14 May 2026", "12 to 14 May", "du 3 au 5 juin", "les 23 et 24 mai",
# and a Japanese range whose end gives only the day: "1月20日（火）～21日（水）".
_DAY_RANGE = re.compile(
    rf"(?<![\w])(?P<d1>\d{{1,2}})(?:st|nd|rd|th|er)?\s*(?:-|–|~|to|au|et|and|until|till)\s*"
    rf"(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MONTH_RE})\.?,?(?:\s+(?P<y>\d{{4}}))?(?![\w])",
    re.IGNORECASE,
)
_JA_DAY_RANGE_END = re.compile(r"\s*(?:[(（][^)）]{1,6}[)）])?\s*(?:\d{1,2}[:時]\d{0,2}分?)?\s*[～〜~\-－ー]\s*(?P<d>\d{1,2})\s*日")


def find_day_ranges(text: str, *, after: date) -> list[tuple[int, int, date, date]]:
    """(start, end, first day, last day) of every range of days within one month, in order.
    Year-less ranges take the next occurrence on or after `after`."""
    text = unicodedata.normalize("NFKC", text or "")
    found = []
    for m in _DAY_RANGE.finditer(text):
        mon = _month(m["mon"])
        if not mon or (mon == 5 and m["mon"] == "may"):
            continue
        d1, d2 = int(m["d1"]), int(m["d2"])
        if d2 <= d1:
            continue
        if m["y"]:
            first, last = _make(int(m["y"]), mon, d1), _make(int(m["y"]), mon, d2)
        else:
            first = _next_occurrence(mon, d1, after)
            last = first and _make(first.year, mon, d2)
        if first and last:
            found.append((m.start(), m.end(), first, last))
    if "月" in text:
        for start, end, day, _ in find_dates(text, after=after):
            m = _JA_DAY_RANGE_END.match(text, end)
            if m and int(m["d"]) > day.day:
                last = _make(day.year, day.month, int(m["d"]))
                if last:
                    found.append((start, m.end(), day, last))
    return sorted(found)


def parse_date(text: str | None, *, after: date | None = None, languages: list[str] | None = None) -> date | None:
    """The first date written in `text`, or None.

    `after` enables year-less forms ("3 mars", "1月31日"): they take the next occurrence on or
    after that day. Unknown forms fall back to dateparser with day-first order.
    """
    if not text or not text.strip():
        return None
    found = find_dates(text, after=after)
    if found:
        return found[0][2]
    return _dateparser(text, languages)


def _dateparser(text: str, languages: list[str] | None) -> date | None:
    if len(text) > 80:  # dateparser is for a date string, not a paragraph
        return None
    import dateparser  # imported lazily: it is slow to import

    parsed = dateparser.parse(
        text,
        languages=languages,
        settings={"DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["day", "month", "year"]},
    )
    return parsed.date() if parsed else None


def parse_datetime(text: str | None, *, tz: str = "UTC", languages: list[str] | None = None) -> datetime | None:
    """A timestamp from ISO 8601 / RFC 3339 text, else a date at local midnight in `tz`; aware, UTC."""
    if not text or not text.strip():
        return None
    m = _ISO_DATETIME.search(text)
    if m:
        try:
            naive = datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), int(m["S"] or 0))
        except ValueError:
            naive = None
        if naive is not None:
            zone = m["tz"]
            if zone is None:
                aware = naive.replace(tzinfo=ZoneInfo(tz))
            elif zone == "Z":
                aware = naive.replace(tzinfo=timezone.utc)
            else:
                sign = 1 if zone[0] == "+" else -1
                digits = zone[1:].replace(":", "")
                offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                aware = naive.replace(tzinfo=timezone(sign * offset))
            return aware.astimezone(timezone.utc)
    day = parse_date(text, languages=languages)
    return midnight_utc(day, tz) if day else None


def midnight_utc(day: date, tz: str = "UTC") -> datetime:
    """Local midnight of `day` in `tz`, as an aware UTC datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)
