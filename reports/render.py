"""Turn a Digest into Markdown, email-safe HTML or plain text (Japanese or English).

Pure except `write_reports`. Everything shown comes from outside and is hostile: the templates only
lay out a prepared view in which every link has been checked (http/https only, anything else is
dropped) and every text is escaped for its format — by Jinja2 autoescape in HTML, by a `finalize`
hook in Markdown (so a template cannot forget it) and by stripping control characters in text.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2

from spacedigest.reports.digest import COMPACT_SECTIONS, TOKYO, Digest, DigestItem, _aware
from spacedigest.sources.i18n import category_label, strings
from spacedigest.sources.classify import japan_reason_label
from spacedigest.sources.eligibility import recorded
from spacedigest.sources.headline import Rates, fact_line, says_who
from spacedigest.sources.files import write_atomic
from spacedigest.sources.text import one_line, truncate

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("md", "html", "txt")
LINK_KEYS = ("archive", "calendar", "atom", "preferences", "unsubscribe")
SUMMARY_CHARS = 300
TEXT_WIDTH = 72  # display columns; a CJK character takes two

_WEEKDAYS = {"ja": "月火水木金土日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")

# ---------------------------------------------------------------- dates (no locale dependence)

def format_date(day: date, lang: str, *, weekday: bool = True) -> str:
    if lang == "ja":
        text = f"{day.year}年{day.month}月{day.day}日"
        return text + f"（{_WEEKDAYS['ja'][day.weekday()]}）" if weekday else text
    text = f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{_WEEKDAYS['en'][day.weekday()]} {text}" if weekday else text


def format_datetime_jst(moment: datetime, lang: str) -> str:
    local = _aware(moment).astimezone(TOKYO)
    gap = "" if lang == "ja" else " "
    return f"{format_date(local.date(), lang)}{gap}{local:%H:%M} JST"


# ---------------------------------------------------------------- hostile input

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


_URL_SAFE = ":/?#[]@!$&*+,;=%~-._"  # everything else (quotes, spaces, <>, (), non-ASCII) is percent-encoded


def safe_url(url: str | None, *, allow_relative: bool = False) -> str | None:
    """An http(s) URL fit for href and Markdown link syntax, or None.

    javascript:, data:, mailto: and anything unparsable are dropped. With `allow_relative`, a plain
    relative path (no scheme, no host) is kept too — used for the archive's own pages.
    """
    url = (url or "").strip()
    if not url or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return quote(url, safe=_URL_SAFE)
    if allow_relative and not parts.scheme and not parts.netloc and not url.startswith(("/", "\\")):
        return quote(url, safe=_URL_SAFE)
    return None


class Raw(str):
    """Markup a Markdown template builds itself (a checked URL); `finalize` leaves it alone."""


_MD_INLINE = re.compile(r"([\\`*_\[\]|~!])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")
_ENTITY_LIKE = re.compile(r"&(?=#?\w+;)")


def md_escape(value) -> str:
    """Escape text so Markdown shows it literally: no emphasis, links, images, tables or raw HTML."""
    if isinstance(value, Raw):
        return value
    if value is None:
        return ""
    raw = str(value)
    text = one_line(raw)
    if not text:
        return ""
    # keep one space at either edge: templates join escaped pieces ("**Japan** (reason)")
    lead, trail = (" " if raw[:1].isspace() else ""), (" " if raw[-1:].isspace() else "")
    text = _ENTITY_LIKE.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return lead + text + trail


def _txt_finalize(value) -> str:
    return "" if value is None else _CONTROL.sub(" ", str(value))


# ---------------------------------------------------------------- plain-text wrapping by display width

def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


_NO_LINE_START = set("、。，．）」』】〕・ー!?！？,.:;)")
# A unit never broken inside: a run of non-space, non-wide characters (a Latin word, a URL), or one
# wide (CJK) character, so Japanese text can break between any two characters.
_UNIT = re.compile(r"\s+|[^\s\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]+|\S")


def wrap_text(text: str, width: int = TEXT_WIDTH, indent: str = "", first: str | None = None) -> str:
    """Greedy wrap by display columns: Latin words and URLs stay whole, CJK text breaks between
    characters, Japanese closing punctuation never starts a line. `first` prefixes the first line
    (e.g. "1. ") and `indent` the others, giving a hanging indent."""
    text = one_line(text)
    prefix = indent if first is None else first
    lines: list[str] = []
    line, col, fresh = prefix, sum(_width(c) for c in prefix), True
    pending_space = False
    for unit in _UNIT.findall(text):
        if unit.isspace():
            pending_space = not fresh
            continue
        unit_width = sum(_width(c) for c in unit)
        gap = 1 if pending_space else 0
        if not fresh and col + gap + unit_width > width and unit[0] not in _NO_LINE_START:
            lines.append(line.rstrip())
            line, col, gap = indent, sum(_width(c) for c in indent), 0
        line += " " * gap + unit
        col += gap + unit_width
        fresh, pending_space = False, False
    if not fresh:
        lines.append(line.rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------- the view the templates lay out

@dataclass
class ItemView:
    facts: str  # the fact line: what, who may apply, how much, by when
    eligibility: str  # japan | international | restricted | unknown, or none (news): the badge's colour
    verdict: str  # the badge: may a Japanese company take part ("応募可", "制限あり", "要確認")
    title: str
    url: str | None
    original_title: str  # the title as published, when `title` is a machine translation ("" otherwise)
    category: str
    organisation: str
    deadline: str  # "" when the item has none
    status: str
    event_date: str
    change: str
    japan: bool
    japan_reason: str
    summary: str
    summary_machine: bool  # the summary is a machine translation
    published: str
    sources: str


def _deadline_text(item: DigestItem, lang: str, today: date) -> str:
    s = strings(lang)
    if item.deadline_kind == "rolling":
        return s["rolling"]
    if item.deadline is None:
        return ""
    days = (item.deadline - today).days
    tail = s["days_left"].format(n=days) if days > 0 else s["due_today"] if days == 0 else s["passed"]
    return s["deadline"].format(date=format_date(item.deadline, lang)) + tail


def _event_text(item: DigestItem, lang: str) -> str:
    """When an event takes place: one day, or its first and last days."""
    if item.event_date is None:
        return ""
    s = strings(lang)
    if item.event_end is None or item.event_end <= item.event_date:
        return s["event_on"].format(date=format_date(item.event_date, lang))
    return s["event_span"].format(start=format_date(item.event_date, lang), end=format_date(item.event_end, lang))


def _status_text(item: DigestItem, lang: str) -> str:
    s = strings(lang)
    text = s["status"].get(item.status, "")
    if item.status == "forthcoming" and item.opening_date:
        text += f" · {s['opens'].format(date=format_date(item.opening_date, lang))}"
    return text


def _change_text(item: DigestItem, lang: str) -> str:
    s = strings(lang)
    if not item.deadline_changed:
        return ""
    if item.previous_deadline is None:
        return s["changed_plain"]
    was = format_date(item.previous_deadline, lang)
    later = item.deadline is not None and item.deadline > item.previous_deadline
    return s["extended" if later else "changed"].format(date=was)


def facts_of(item: DigestItem, lang: str, today: date, rates: Rates | None = None) -> str:
    """The item's fact line for the digest's day (days left and statuses move on after loading)."""
    return fact_line(category=item.category, organisation=item.organisation, themes=item.themes,
                     amount_max=item.amount_max, amount_currency=item.amount_currency, deadline=item.deadline,
                     deadline_kind=item.deadline_kind, status=item.status, opening_date=item.opening_date,
                     event_date=item.event_date, event_end=item.event_end,
                     eligibility=recorded(item.eligibility, item.eligibility_region, item.eligibility_reason),
                     today=today, rates=rates, lang=lang)


def translated(item: DigestItem, lang: str) -> DigestItem:
    """The item with its machine translations only in the Japanese digest (the English one shows originals)."""
    if lang == "ja" or not (item.title_ja or item.summary_ja):
        return item
    return replace(item, title_ja=None, summary_ja=None)


def _verdict(item: DigestItem, lang: str) -> str:
    if not says_who(item.category, item.eligibility):
        return ""
    table = "verdict_event" if item.category == "event" else "verdict"
    return strings(lang)["headline"][table].get(item.eligibility, "")


def item_view(item: DigestItem, lang: str, today: date, rates: Rates | None = None) -> ItemView:
    published = strings(lang)["published"] + " " + format_datetime_jst(item.published_at, lang)
    if item.published_estimated:
        published += strings(lang)["estimated"]
    return ItemView(
        facts=one_line(facts_of(item, lang, today, rates)),
        eligibility=item.eligibility if says_who(item.category, item.eligibility) else "none",
        verdict=_verdict(item, lang),
        title=one_line(translated(item, lang).title_ja or item.title) or "(untitled)",
        original_title=one_line(item.title) if translated(item, lang).title_ja else "",
        url=safe_url(item.url),
        category=category_label(item.category, lang),
        organisation=one_line(item.organisation),
        deadline=_deadline_text(item, lang, today),
        status=_status_text(item, lang),
        event_date=_event_text(item, lang),
        change=_change_text(item, lang),
        # the fact line says whether a Japanese company may take part; for news, why it concerns Japan
        japan=bool(item.japan_relevant) and not _verdict(item, lang),
        japan_reason=one_line(japan_reason_label(item.japan_reason, lang)),
        summary=truncate(one_line(translated(item, lang).summary_ja or item.summary), SUMMARY_CHARS),
        summary_machine=bool(translated(item, lang).summary_ja),
        published=published,
        sources=", ".join(one_line(s) for s in item.source_ids),
    )


def _period(digest: Digest) -> str:
    lang = digest.lang
    start = format_datetime_jst(digest.window.start, lang)
    end = format_datetime_jst(digest.window.end, lang)
    return f"{start} 〜 {end}" if lang == "ja" else f"{start} – {end}"


def subject(digest: Digest, *, alert: bool = False) -> str:
    """One line, no CR/LF: the mail subject and the page title."""
    if alert:
        n = digest.item_count
        day = _aware(digest.window.end).astimezone(TOKYO).date()
        if digest.lang == "ja":
            return f"【新着公募アラート】日本企業が応募できる新しい公募 {n}件（{format_date(day, 'ja', weekday=False)}）"
        return f"[Space Business Alert] {n} new call{'s' if n != 1 else ''} open to Japanese companies ({day.day} {_MONTHS_EN[day.month - 1][:3]} {day.year})"
    start = _aware(digest.window.start).astimezone(TOKYO).date()
    end = _aware(digest.window.end).astimezone(TOKYO).date()
    n = digest.item_count
    if digest.lang == "ja":
        end_text = f"{end.month}月{end.day}日" if end.year == start.year else format_date(end, "ja", weekday=False)
        count = f"新着{n}件" if n else "新着なし"
        return f"【宇宙ビジネス公募ダイジェスト】{format_date(start, 'ja', weekday=False)}〜{end_text} {count}"
    start_text = f"{start.day} {_MONTHS_EN[start.month - 1][:3]}"
    if start.year != end.year:
        start_text += f" {start.year}"
    count = "no new items" if n == 0 else "1 new item" if n == 1 else f"{n} new items"
    return f"[Space Business Digest] {start_text} – {end.day} {_MONTHS_EN[end.month - 1][:3]} {end.year}: {count}"


@lru_cache(maxsize=None)
def _environment(fmt: str) -> jinja2.Environment:
    options: dict = dict(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    if fmt == "html":
        options["autoescape"] = True
    elif fmt == "md":
        options["finalize"] = md_escape
    else:
        options["finalize"] = _txt_finalize
    env = jinja2.Environment(**options)
    env.filters["wrap"] = wrap_text
    return env


def render(digest: Digest, fmt: str, *, links: dict[str, str] | None = None, legal: dict[str, str] | None = None,
           template: str = "digest") -> str:
    """The digest as `md`, `html` or `txt`. `links` (archive, calendar, atom, preferences, unsubscribe)
    are optional footer links; http(s) or relative paths only (the archive copy uses relative ones).
    `legal` (sender_name, postal_address, contact_email): the footer every mail carries
    (特定電子メール法). `template`: digest, or alert (the short daily alert)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown digest format {fmt!r}: expected one of {', '.join(FORMATS)}")
    lang = digest.lang
    today = digest.today or digest.generated_at.astimezone(TOKYO).date()
    footer_links = []
    for key in LINK_KEYS:
        url = safe_url((links or {}).get(key), allow_relative=True)
        if url:
            footer_links.append({"label": strings(lang)["links"][key], "url": Raw(url)})
    sections = [
        {
            "key": section.key,
            "title": section.title,
            "heading": strings(lang)["heading"].format(title=section.title, n=len(section.items)),
            "compact": section.key in COMPACT_SECTIONS,
            "items": [_with_raw_url(item_view(item, lang, today, digest.rates)) for item in section.items],
        }
        for section in digest.sections
        if section.items
    ]
    template = _environment(fmt).get_template(f"{template}.{fmt}.j2")
    return template.render(
        lang=lang,
        s=strings(lang),
        subject=subject(digest),
        period=strings(lang)["period_line"].format(period=_period(digest)),
        count=strings(lang)["count"].format(n=digest.item_count),
        sections=sections,
        links=footer_links,
        generated=format_datetime_jst(digest.generated_at, lang),
        width=TEXT_WIDTH,
        legal=legal_lines(legal, lang) if legal else [],
    )


def legal_lines(legal: dict[str, str], lang: str) -> list[dict[str, str]]:
    """The legal footer as label/value lines (empty values left out)."""
    labels = strings(lang)["legal"]
    return [{"label": labels[key], "value": one_line(legal.get(key) or "")}
            for key in ("sender_name", "postal_address", "contact_email") if (legal.get(key) or "").strip()]


def _with_raw_url(view: ItemView) -> ItemView:
    if view.url:
        view.url = Raw(view.url)
    return view


# ---------------------------------------------------------------- I/O edge

_EXTENSIONS = {"md": "md", "html": "html", "txt": "txt"}


def report_paths(folder: Path, digest: Digest) -> dict[str, Path]:
    return {fmt: Path(folder) / f"{digest.window.label}.{digest.lang}.{ext}" for fmt, ext in _EXTENSIONS.items()}


def write_reports(folder: Path, digest: Digest, renders: dict[str, str]) -> dict[str, Path]:
    """Write <label>.<lang>.md/.html/.txt atomically (temporary file + os.replace) and return the paths."""
    unknown = set(renders) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown digest format(s): {', '.join(sorted(unknown))}")
    folder = Path(folder)
    paths = report_paths(folder, digest)
    written: dict[str, Path] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create report folder {folder}: {exc.strerror or exc}") from exc
    for fmt, text in renders.items():
        written[fmt] = write_atomic(paths[fmt], text.encode("utf-8"))
    return written
