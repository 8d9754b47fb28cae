"""HTML listing pages and item pages -> entries, driven by CSS selectors from the catalog.

No site is coded here: each `[[source]]` of kind "html" names its selectors and date conventions
as flat keys (they arrive in `Source.options`):

    item_selector      one listing item (required)
    title_selector     title inside an item        (default: the item's link, else its first heading)
    link_selector      link inside an item         (default: the title's link, else the first a[href])
    date_selector      publication date            (default: a <time> element when there is one)
    summary_selector   short description
    deadline_selector / opening_selector   call closing / opening dates, when a page marks them
    event_date_selector                    the date an event takes place (kept in Entry.extra["event_date"])
    date_format        "auto" (default) or a strptime pattern such as "%d.%m.%Y"
    date_language      language hint for unusual forms (default: the source's language)
    timezone           zone of date-only values (default "UTC"); midnight there becomes UTC
    id_pattern         regular expression for a stable item id in the item text (e.g. "Ca-\\d{4}-\\d{5}")
    max_items          cap per page (default 100)
    detail, detail_limit                      fetch each item's own page (bounded per run)
    detail_date_selector / detail_deadline_selector / detail_opening_selector / detail_summary_selector
    detail_text_selector                      the part of an item page kept as text (default main/article/body)

Dates in the forms the partners write them (English, French, Japanese, day-first numeric) go
through `sources.dates`. Labelled dates ("Opening date: 18 March 2024 Closing date: 17 May 2024",
"Date limite : 3 mars 2025", "応募締切：2024年11月18日") and relative ones ("Ends in 12 days") are
read from the item text. Pure functions: bytes in, records out.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from spacedigest.sources import dates
from spacedigest.sources.models import Entry, ParseError, ParseResult, Source

DEFAULT_MAX_ITEMS = 100
DEFAULT_DETAIL_LIMIT = 10
ITEM_TEXT_CAP = 2000
DETAIL_TEXT_CAP = 6000

DEADLINE_LABELS = (
    "closing date", "closing", "deadline", "submission deadline", "closes on", "closes",
    "ends on", "end date", "apply by", "applications close",
    "date limite", "date de clôture", "clôture", "fin de l'appel", "jusqu'au",
    "応募締切", "募集締切", "締め切り", "締切", "〆切", "申込締切", "受付終了",
)
OPENING_LABELS = (
    "opening date", "open from", "opens on", "start date", "opening",
    "date d'ouverture", "ouverture", "à partir du",
    "募集開始", "受付開始", "公募開始", "開始日",
)
_ROLLING = re.compile(
    r"always open|open all year|open all-year|rolling basis|continuously open|no deadline|"
    r"ouvert en permanence|ouvert toute l'année|au fil de l'eau|常時募集|通年募集|随時募集|随時受付",
    re.IGNORECASE,
)
_RELATIVE_DAYS = re.compile(
    r"(?:ends?|clos(?:es|ing)|deadline)\s+in\s+(?P<n>\d{1,4})\s+days?|"
    r"(?:fin|clôture)\s+dans\s+(?P<fr>\d{1,4})\s+jours?|"
    r"(?:締切|締め切り)まで(?:あと)?\s*(?P<ja>\d{1,4})\s*日|残り\s*(?P<ja2>\d{1,4})\s*日",
    re.IGNORECASE,
)
_WS = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def _soup(body: bytes, content_type: str | None = None) -> BeautifulSoup:
    encoding = None
    if content_type:
        m = re.search(r"charset=([\w.:-]+)", content_type, re.IGNORECASE)
        encoding = m.group(1) if m else None
    return BeautifulSoup(body, "lxml", from_encoding=encoding)


def _select(root: Tag, selector: str, what: str) -> list[Tag]:
    try:
        return root.select(selector)
    except SelectorSyntaxError as exc:
        raise ParseError(f"{what} '{selector}' is not a valid CSS selector: {_clean(str(exc)).split(' line ')[0]}") from None


def _select_one(root: Tag, selector: str | None, what: str) -> Tag | None:
    if not selector:
        return None
    found = _select(root, selector, what)
    return found[0] if found else None


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    return urljoin(url, base["href"].strip()) if base else url


def absolute_link(base: str, href: str | None) -> str | None:
    """An absolute http(s) URL, or None for empty, `javascript:`, `data:`, `mailto:` and the like."""
    if not href or not href.strip():
        return None
    link = urljoin(base, href.strip())
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return link


def _options(source: Source) -> dict:
    return source.options or {}


def _languages(source: Source) -> list[str]:
    lang = _options(source).get("date_language") or source.language or "en"
    return [str(lang).split("-")[0].lower()]


def _timezone(source: Source) -> str:
    return str(_options(source).get("timezone") or "UTC")


def _date_of(element: Tag | None, source: Source) -> datetime | None:
    """A publication timestamp from an element: machine attributes first, then its text."""
    if element is None:
        return None
    tz = _timezone(source)
    for attr in ("datetime", "content", "data-date"):
        value = element.get(attr)
        if isinstance(value, str) and value.strip():
            stamp = dates.parse_datetime(value, tz=tz, languages=_languages(source))
            if stamp:
                return stamp
    return _date_from_text(element.get_text(" ", strip=True), source)


def _date_from_text(text: str, source: Source) -> datetime | None:
    text = _clean(text)
    if not text:
        return None
    tz = _timezone(source)
    pattern = _options(source).get("date_format")
    if pattern and pattern != "auto" and "%" in str(pattern):
        try:
            naive = datetime.strptime(text, str(pattern))
        except ValueError:
            naive = None
        if naive is not None:
            if "%H" in pattern or "%I" in pattern:
                return dates.parse_datetime(naive.isoformat(timespec="minutes"), tz=tz)
            return dates.midnight_utc(naive.date(), tz)
    return dates.parse_datetime(text, tz=tz, languages=_languages(source))


def _label_regex(labels: tuple[str, ...] | list[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.compile(rf"(?:{alternatives})", re.IGNORECASE)


def labelled_dates(text: str, source: Source | None = None, *, today: date | None = None) -> tuple[date | None, date | None]:
    """(opening date, deadline) written after their labels in free text, each cut at the next label."""
    options = _options(source) if source else {}
    deadline_labels = tuple(options.get("deadline_labels") or DEADLINE_LABELS)
    opening_labels = tuple(options.get("opening_labels") or OPENING_LABELS)
    marks: list[tuple[int, int, str]] = []
    for kind, labels in (("deadline", deadline_labels), ("opening", opening_labels)):
        for m in _label_regex(labels).finditer(text):
            marks.append((m.start(), m.end(), kind))
    # Longer labels win where two overlap ("closing date" over "closing").
    marks.sort(key=lambda mark: (mark[0], -(mark[1] - mark[0])))
    kept: list[tuple[int, int, str]] = []
    for mark in marks:
        if kept and mark[0] < kept[-1][1]:
            continue
        kept.append(mark)
    found: dict[str, date] = {}
    for index, (_, end, kind) in enumerate(kept):
        stop = kept[index + 1][0] if index + 1 < len(kept) else len(text)
        rest = text[end:min(stop, end + 80)]
        if kind in found:
            continue
        # Regular forms only: dateparser would read "in 5 days" relative to the wall clock.
        hits = dates.find_dates(rest, after=today)
        if hits:
            found[kind] = hits[0][2]
    return found.get("opening"), found.get("deadline")


def relative_deadline(text: str, today: date) -> date | None:
    """'Ends in 12 days' (and French/Japanese equivalents) counted from `today`."""
    m = _RELATIVE_DAYS.search(text)
    if not m:
        return None
    days = next(int(g) for g in m.groups() if g is not None)
    return today + timedelta(days=days)


def _today(today: date | None) -> date:
    return today or datetime.now(timezone.utc).date()


def _title_and_link(item: Tag, source: Source, base: str) -> tuple[str, str | None]:
    options = _options(source)
    title_el = _select_one(item, options.get("title_selector"), "title selector")
    link_el = _select_one(item, options.get("link_selector"), "link selector")
    if title_el is None and not options.get("title_selector"):
        title_el = link_el or item.select_one("h1, h2, h3, h4, h5, a[href]")
    if link_el is None and not options.get("link_selector"):
        if title_el is not None and title_el.name == "a" and title_el.get("href"):
            link_el = title_el
        elif title_el is not None and title_el.select_one("a[href]"):
            link_el = title_el.select_one("a[href]")
        elif item.name == "a" and item.get("href"):
            link_el = item
        else:
            link_el = item.select_one("a[href]")
    title = _clean(title_el.get_text(" ", strip=True)) if title_el is not None else ""
    if not title and title_el is not None:
        title = _clean(title_el.get("title") or title_el.get("aria-label") or "")
    href = link_el.get("href") if link_el is not None else None
    return title, absolute_link(base, href if isinstance(href, str) else None)


def _entry_from_item(item: Tag, source: Source, base: str, today: date) -> Entry:
    options = _options(source)
    title, link = _title_and_link(item, source, base)
    item_text = _clean(item.get_text(" ", strip=True))

    date_el = _select_one(item, options.get("date_selector"), "date selector")
    if date_el is None and not options.get("date_selector"):
        date_el = item.find("time")
    published = _date_of(date_el, source)

    summary_el = _select_one(item, options.get("summary_selector"), "summary selector")
    summary = _clean(summary_el.get_text(" ", strip=True)) if summary_el is not None else None

    opening, deadline = labelled_dates(item_text, source, today=today)
    deadline_el = _select_one(item, options.get("deadline_selector"), "deadline selector")
    if deadline_el is not None:
        deadline_text = deadline_el.get_text(" ", strip=True)
        deadline = (
            relative_deadline(deadline_text, today)
            or dates.parse_date(deadline_text, after=today, languages=_languages(source))
            or deadline
        )
    opening_el = _select_one(item, options.get("opening_selector"), "opening selector")
    if opening_el is not None:
        opening = dates.parse_date(opening_el.get_text(" ", strip=True), after=today, languages=_languages(source)) or opening
    if deadline is None:
        deadline = relative_deadline(item_text, today)

    extra: dict = {}
    event_el = _select_one(item, options.get("event_date_selector"), "event date selector")
    if event_el is not None:
        event_day = dates.parse_date(event_el.get_text(" ", strip=True), after=today, languages=_languages(source))
        if event_day:
            extra["event_date"] = event_day.isoformat()
    if _ROLLING.search(item_text):
        extra["rolling"] = True
    guid = None
    pattern = options.get("id_pattern")
    if pattern:
        m = re.search(str(pattern), item_text) or (re.search(str(pattern), link) if link else None)
        if m:
            guid = m.group(0)
    if published is None and opening is not None and options.get("published_from_opening", True):
        # A call with no publication date was announced when it opened.
        published = dates.midnight_utc(opening, _timezone(source))
        extra["published_from"] = "opening_date"
    return Entry(
        title=title or None,
        link=link,
        guid=guid,
        summary=summary or None,
        published=published,
        detail_text=item_text[:ITEM_TEXT_CAP] or None,
        opening_date=opening,
        deadline=deadline,
        extra=extra,
    )


def parse_listing(
    body: bytes,
    *,
    url: str,
    source: Source,
    content_type: str | None = None,
    today: date | None = None,
) -> ParseResult:
    """Entries of a listing page. `today` anchors year-less and relative dates (default: today, UTC).

    Raises ParseError when the item selector matches nothing (the layout probably changed) or
    when no item has both a title and a link: a broken page is an error, never a quiet "no news".
    """
    options = _options(source)
    selector = options.get("item_selector")
    if not selector:
        raise ParseError("html source has no item_selector option")
    if not body or not body.strip():
        raise ParseError(f"empty page at {url}")
    soup = _soup(body, content_type)
    base = _base_url(soup, url)
    items = _select(soup, str(selector), "item selector")
    if not items:
        raise ParseError(f"item selector '{selector}' matched nothing on {url}: the page layout may have changed")
    day = _today(today)
    limit = int(options.get("max_items") or DEFAULT_MAX_ITEMS)
    entries: list[Entry] = []
    warnings: list[str] = []
    incomplete = 0
    seen: set[tuple[str | None, str | None, str | None]] = set()
    for item in items:
        entry = _entry_from_item(item, source, base, day)
        if not entry.title or not entry.link:
            incomplete += 1
            continue
        key = (entry.title, entry.link, entry.guid)
        if key in seen:  # the same item shown twice (a "featured" block and the list)
            continue
        seen.add(key)
        entries.append(entry)
        if len(entries) >= limit:
            warnings.append(f"kept the first {limit} items of {len(items)} (max_items)")
            break
    if not entries:
        raise ParseError(
            f"item selector '{selector}' matched {len(items)} item(s) on {url}: no item had both a title and a link"
        )
    if incomplete:
        warnings.append(f"{incomplete} of {len(items)} items skipped: no title or no link")
    title_tag = soup.find("title")
    return ParseResult(
        entries=entries,
        feed_title=_clean(title_tag.get_text()) if title_tag else None,
        feed_link=base,
        warnings=warnings,
    )


# ----- item pages -------------------------------------------------------------------------------

_PUBLISHED_META = (
    "article:published_time", "og:published_time", "datepublished", "date", "dc.date", "dc.date.issued",
    "dcterms.date", "dcterms.issued", "dcterms.created", "publish-date", "publishdate", "pubdate",
    "sailthru.date", "parsely-pub-date",
)
_UPDATED_META = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "last-modified")
_SUMMARY_META = ("og:description", "description", "twitter:description", "dc.description")
_JSONLD_DEADLINE = ("applicationDeadline", "deadline", "validThrough", "endDate", "expires")


def _meta_values(soup: BeautifulSoup) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in soup.find_all("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        value = meta.get("content")
        if isinstance(key, str) and isinstance(value, str) and value.strip():
            found.setdefault(key.strip().lower(), value.strip())
    for element in soup.select("[itemprop=datePublished], [itemprop=dateModified]"):
        value = element.get("content") or element.get("datetime") or element.get_text(" ", strip=True)
        if value:
            found.setdefault(element["itemprop"].lower(), value)
    return found


def _jsonld_objects(soup: BeautifulSoup) -> list[dict]:
    objects: list[dict] = []

    def walk(node, depth: int = 0) -> None:
        if depth > 6:
            return
        if isinstance(node, dict):
            objects.append(node)
            for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
                if key in node:
                    walk(node[key], depth + 1)
        elif isinstance(node, list):
            for child in node:
                walk(child, depth + 1)

    for script in soup.find_all("script", type=re.compile(r"ld\+json", re.IGNORECASE)):
        text = script.string or script.get_text()
        try:
            walk(json.loads(text))
        except (ValueError, TypeError):
            continue  # a broken JSON-LD block: fall back to the other metadata
    return objects


def _first_value(objects: list[dict], keys: tuple[str, ...]) -> str | None:
    # Keys in order of preference, each across all objects: an article's "headline" beats the site's "name".
    for key in keys:
        for obj in objects:
            value = obj.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _page_text(soup: BeautifulSoup, source: Source) -> str:
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "form"]):
        tag.decompose()
    selector = _options(source).get("detail_text_selector")
    root = _select_one(soup, selector, "detail text selector") if selector else None
    if root is None:
        root = soup.find("main") or soup.find("article") or soup.body or soup
    return _clean(root.get_text(" ", strip=True))[:DETAIL_TEXT_CAP]


def parse_detail(body: bytes, *, url: str, source: Source, today: date | None = None) -> Entry:
    """What an item's own page says about it: dates, deadline, a better summary, its text.

    Machine metadata first (JSON-LD, then `og:`/`article:` meta tags), the catalog's
    `detail_*_selector`s second, labelled dates in the page text last.
    """
    if not body or not body.strip():
        raise ParseError(f"empty page at {url}")
    options = _options(source)
    tz = _timezone(source)
    day = _today(today)
    languages = _languages(source)
    soup = _soup(body)
    objects = _jsonld_objects(soup)
    meta = _meta_values(soup)

    published_text = _first_value(objects, ("datePublished", "dateCreated", "uploadDate")) or next(
        (meta[k] for k in _PUBLISHED_META if k in meta), None
    )
    published = dates.parse_datetime(published_text, tz=tz, languages=languages) if published_text else None
    updated_text = _first_value(objects, ("dateModified",)) or next((meta[k] for k in _UPDATED_META if k in meta), None)
    updated = dates.parse_datetime(updated_text, tz=tz, languages=languages) if updated_text else None
    deadline_text = _first_value(objects, _JSONLD_DEADLINE)
    deadline = dates.parse_date(deadline_text, languages=languages) if deadline_text else None
    summary = _first_value(objects, ("description",)) or next((meta[k] for k in _SUMMARY_META if k in meta), None)
    title = _first_value(objects, ("headline", "name")) or meta.get("og:title")

    opening = None
    extra: dict = {}
    event_start = _first_value([o for o in objects if "Event" in str(o.get("@type", ""))], ("startDate",))
    if event_start:
        extra["event_start"] = event_start

    if published is None:
        published = _date_of(_select_one(soup, options.get("detail_date_selector"), "detail date selector"), source)
    if deadline is None:
        el = _select_one(soup, options.get("detail_deadline_selector"), "detail deadline selector")
        if el is not None:
            text = el.get_text(" ", strip=True)
            deadline = relative_deadline(text, day) or dates.parse_date(text, after=day, languages=languages)
    el = _select_one(soup, options.get("detail_opening_selector"), "detail opening selector")
    if el is not None:
        opening = dates.parse_date(el.get_text(" ", strip=True), after=day, languages=languages)
    el = _select_one(soup, options.get("detail_summary_selector"), "detail summary selector")
    if el is not None and _clean(el.get_text(" ", strip=True)):
        summary = _clean(el.get_text(" ", strip=True))
    if title is None:
        h1 = soup.find("h1")
        title = _clean(h1.get_text(" ", strip=True)) if h1 else None

    text = _page_text(soup, source)
    labelled_opening, labelled_deadline = labelled_dates(text, source, today=day)
    opening = opening or labelled_opening
    deadline = deadline or labelled_deadline or relative_deadline(text, day)
    if _ROLLING.search(text):
        extra["rolling"] = True
    return Entry(
        title=_clean(title) or None if title else None,
        link=url,
        summary=_clean(summary) or None if summary else None,
        published=published,
        updated=updated,
        detail_text=text or None,
        opening_date=opening,
        deadline=deadline,
        extra=extra,
    )


def detail_targets(result: ParseResult, source: Source) -> list[str]:
    """Item pages worth fetching for this source this run: none unless `detail = true`, at most `detail_limit`."""
    options = _options(source)
    if not options.get("detail"):
        return []
    limit = int(options.get("detail_limit", DEFAULT_DETAIL_LIMIT))
    targets: list[str] = []
    for entry in result.entries:
        if entry.link and entry.link not in targets:
            targets.append(entry.link)
        if len(targets) >= limit:
            break
    return targets


def merge_detail(entry: Entry, detail: Entry) -> Entry:
    """A listing entry completed by its item page; what the listing said stays unless it was missing."""
    summary = entry.summary
    if detail.summary and (not summary or len(detail.summary) > len(summary)):
        summary = detail.summary
    texts = [t for t in (entry.detail_text, detail.detail_text) if t]
    return replace(
        entry,
        summary=summary,
        published=entry.published if entry.published and not entry.extra.get("published_from") else (detail.published or entry.published),
        updated=entry.updated or detail.updated,
        deadline=entry.deadline or detail.deadline,
        opening_date=entry.opening_date or detail.opening_date,
        detail_text="\n".join(texts)[: ITEM_TEXT_CAP + DETAIL_TEXT_CAP] or None,
        extra={**detail.extra, **entry.extra},
    )


def describe_selectors(body: bytes, *, url: str, source: Source, today: date | None = None) -> list[str]:
    """Human lines for `sources check`: how many nodes each selector matched and the first items."""
    options = _options(source)
    lines: list[str] = []
    selector = options.get("item_selector")
    if not selector:
        return ["no item_selector configured"]
    soup = _soup(body or b"")
    try:
        items = _select(soup, str(selector), "item selector")
    except ParseError as exc:
        return [str(exc)]
    lines.append(f"item_selector {selector!r}: {len(items)} match(es)")
    if not items:
        lines.append(f"item selector '{selector}' matched nothing on {url}: the page layout may have changed")
        return lines
    for key in ("title_selector", "link_selector", "date_selector", "summary_selector", "deadline_selector", "opening_selector"):
        sub = options.get(key)
        if not sub:
            continue
        try:
            hits = sum(1 for item in items if item.select_one(str(sub)) is not None)
        except SelectorSyntaxError:
            lines.append(f"{key} {sub!r}: not a valid CSS selector")
            continue
        lines.append(f"{key} {sub!r}: found in {hits} of {len(items)} items")
    try:
        result = parse_listing(body, url=url, source=source, today=today)
    except ParseError as exc:
        lines.append(str(exc))
        return lines
    lines.append(f"{len(result.entries)} item(s) would be extracted")
    for number, entry in enumerate(result.entries[:5], start=1):
        stamp = entry.published.isoformat() if entry.published else "no date"
        parts = [f"{number}. {entry.title}", entry.link or "", stamp]
        if entry.opening_date:
            parts.append(f"opens {entry.opening_date.isoformat()}")
        if entry.deadline:
            parts.append(f"deadline {entry.deadline.isoformat()}")
        lines.append(" | ".join(parts))
    lines.extend(f"warning: {w}" for w in result.warnings)
    return lines
