"""HTML listing pages and item pages -> entries, driven by CSS selectors from the catalog.

No site is coded here: each `[[source]]` of kind "html" names its selectors and date conventions
(`HtmlOptions` below; any other key is refused when the catalog loads). Dates the page gives in a
machine form (`<time datetime>`, JSON-LD, `article:published_time`) or under a date selector are read
here; the parts the catalog marks as the deadline, the opening or the event's date are handed on
as text (`Entry.stated`), and the rest of the item's text as `detail_text`: deadlines, opening
dates, rolling calls and relative phrases ("Ends in 12 days") are read by `sources.classify` with
the vocabulary of `rules.toml`, the one home of that vocabulary. An item page that states its date in
no metadata is asked of htmldate (markup only). Pure functions: bytes in, records out.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from spacedigest.sources import dates
from spacedigest.sources.encoding import declared, undeclared_encoding
from spacedigest.sources.kinds import BaseKind
from spacedigest.sources.models import Entry, Fallback, Fetched, ParseError, ParseResult, Source, Stated

DEFAULT_MAX_ITEMS = 100
DEFAULT_DETAIL_LIMIT = 10
ITEM_TEXT_CAP = 2000
DETAIL_TEXT_CAP = 6000


@dataclass(frozen=True, kw_only=True)
class ItemPageOptions:
    """How an item's own page is read: by every kind that reads item pages (html, sitemap)."""

    date_format: str = "auto"  # or a strptime pattern such as "%d.%m.%Y"
    date_language: str | None = None  # hint for unusual forms (default: the source's language)
    detail_date_selector: str | None = None
    detail_deadline_selector: str | None = None
    detail_opening_selector: str | None = None
    detail_summary_selector: str | None = None
    detail_text_selector: str | None = None  # the part of an item page kept as text (default main/article/body)


@dataclass(frozen=True, kw_only=True)
class HtmlOptions(ItemPageOptions):
    """The catalog keys of an html source."""

    item_selector: str = field(metadata={"required": "an html source needs 'item_selector' (the CSS selector "
                                                     "of one listing item)"})
    title_selector: str | None = None  # default: the item's link, else its first heading
    link_selector: str | None = None  # default: the title's link, else the first a[href]
    date_selector: str | None = None  # publication date; default: a <time> element; ":scope": the item's own text
    summary_selector: str | None = None
    deadline_selector: str | None = None  # the part marking the call's closing date ("Ends in 12 days")
    opening_selector: str | None = None
    event_date_selector: str | None = None  # the date an event takes place
    id_pattern: str | None = None  # regular expression for a stable item id in the item text
    # An item is the element item_selector matches and its next siblings up to the next match: a
    # <dl> whose <dt> holds the date and whose <dd> holds the link ("dl.news dt").
    item_siblings: bool = False
    max_items: int = DEFAULT_MAX_ITEMS  # per page
    detail: bool = False  # fetch each item's own page (bounded per run by detail_limit)
    detail_limit: int = DEFAULT_DETAIL_LIMIT


_WS = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def _soup(body: bytes, content_type: str | None = None) -> BeautifulSoup:
    """The page as a tree: in the encoding HTTP declares, else the page's own declaration, else
    the one detected on its bytes (a Shift_JIS page that declares nothing is not windows-1252)."""
    encoding = declared(body, content_type)
    if encoding is None and (detected := undeclared_encoding(body)):
        return BeautifulSoup(body.decode(detected, errors="replace"), "lxml")
    # declared by HTTP, or by the page's <meta charset> or BOM, which Beautiful Soup reads itself
    return BeautifulSoup(body, "lxml", from_encoding=None if encoding == "declared" else encoding)


def _select(root: Tag, selector: str, what: str) -> list[Tag]:
    try:
        return root.select(selector)
    except SelectorSyntaxError as exc:
        raise ParseError(f"{what} '{selector}' is not a valid CSS selector: {_clean(str(exc)).split(' line ')[0]}") from None


def _select_one(root: Tag, selector: str | None, what: str) -> Tag | None:
    """The first match of `selector` inside `root`; ":scope" is `root` itself (an item whose date
    is bare text beside its link: "2024.05.14 <a>…</a>")."""
    if not selector:
        return None
    if selector.strip() == ":scope":
        return root
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


def _languages(source: Source) -> list[str]:
    lang = source.options.date_language or source.language or "en"
    return [str(lang).split("-")[0].lower()]


def _date_of(element: Tag | None, source: Source) -> datetime | None:
    """A publication timestamp from an element: machine attributes first, then its text."""
    if element is None:
        return None
    for attr in ("datetime", "content", "data-date"):
        value = element.get(attr)
        if isinstance(value, str) and value.strip():
            stamp = dates.parse_datetime(value, tz=source.timezone, languages=_languages(source))
            if stamp:
                return stamp
    return _date_from_text(element.get_text(" ", strip=True), source)


def _date_from_text(text: str, source: Source) -> datetime | None:
    text = _clean(text)
    if not text:
        return None
    tz = source.timezone
    pattern = source.options.date_format
    if pattern and pattern != "auto" and "%" in pattern:
        try:
            naive = datetime.strptime(text, pattern)
        except ValueError:
            naive = None
        if naive is not None:
            if "%H" in pattern or "%I" in pattern:
                return dates.parse_datetime(naive.isoformat(timespec="minutes"), tz=tz)
            return dates.midnight_utc(naive.date(), tz)
    return dates.parse_datetime(text, tz=tz, languages=_languages(source))


def _marked_text(root: Tag, selector: str | None, what: str) -> str | None:
    """The text of the part a selector marks (a deadline, an event's date), for the classifier."""
    element = _select_one(root, selector, what)
    return (_clean(element.get_text(" ", strip=True)) or None) if element is not None else None


def _title_and_link(item: Tag, source: Source, base: str) -> tuple[str, str | None]:
    options = source.options
    title_el = _select_one(item, options.title_selector, "title selector")
    link_el = _select_one(item, options.link_selector, "link selector")
    if title_el is None and not options.title_selector:
        title_el = link_el or item.select_one("h1, h2, h3, h4, h5, a[href]")
    if link_el is None and not options.link_selector:
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


def _entry_from_item(item: Tag, source: Source, base: str) -> Entry:
    options = source.options
    title, link = _title_and_link(item, source, base)
    item_text = _clean(item.get_text(" ", strip=True))

    date_el = _select_one(item, options.date_selector, "date selector")
    if date_el is None and not options.date_selector:
        date_el = item.find("time")
    summary_el = _select_one(item, options.summary_selector, "summary selector")
    summary = _clean(summary_el.get_text(" ", strip=True)) if summary_el is not None else None
    guid = None
    if options.id_pattern:
        m = re.search(options.id_pattern, item_text) or (re.search(options.id_pattern, link) if link else None)
        if m:
            guid = m.group(0)
    return Entry(
        title=title or None,
        link=link,
        guid=guid,
        summary=summary or None,
        published=_date_of(date_el, source),
        detail_text=item_text[:ITEM_TEXT_CAP] or None,
        stated=Stated(
            deadline_text=_marked_text(item, options.deadline_selector, "deadline selector"),
            opening_text=_marked_text(item, options.opening_selector, "opening selector"),
            event_text=_marked_text(item, options.event_date_selector, "event date selector"),
        ),
    )


def listing_items(soup: BeautifulSoup, options: HtmlOptions) -> list[Tag]:
    """The page's items: what item_selector matches, each with its next siblings when the options
    say an item spans them (a <dt> and its <dd>), gathered in one element."""
    items = _select(soup, options.item_selector, "item selector")
    if not options.item_siblings:
        return items
    starts = {id(item) for item in items}
    grouped = []
    for item in items:
        box = soup.new_tag("div")
        box.append(copy.copy(item))
        for sibling in item.find_next_siblings():
            if id(sibling) in starts:
                break
            box.append(copy.copy(sibling))
        grouped.append(box)
    return grouped


def parse_listing(body: bytes, *, url: str, source: Source, content_type: str | None = None) -> ParseResult:
    """Entries of a listing page.

    Raises ParseError when the item selector matches nothing (the layout probably changed) or
    when no item has both a title and a link: a broken page is an error, never a quiet "no news".
    """
    selector = source.options.item_selector
    if not body or not body.strip():
        raise ParseError(f"empty page at {url}")
    soup = _soup(body, content_type)
    base = _base_url(soup, url)
    items = listing_items(soup, source.options)
    if not items:
        raise ParseError(f"item selector '{selector}' matched nothing on {url}: the page layout may have changed")
    limit = source.options.max_items or DEFAULT_MAX_ITEMS
    entries: list[Entry] = []
    warnings: list[str] = []
    incomplete = 0
    seen: set[tuple[str | None, str | None, str | None]] = set()
    for item in items:
        entry = _entry_from_item(item, source, base)
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
        entries=tuple(entries),
        feed_title=_clean(title_tag.get_text()) if title_tag else None,
        feed_link=base,
        warnings=tuple(warnings),
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


def _is_event(obj: dict) -> bool:
    return "Event" in str(obj.get("@type", ""))


def _page_text(soup: BeautifulSoup, source: Source) -> str:
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "form"]):
        tag.decompose()
    selector = source.options.detail_text_selector
    root = _select_one(soup, selector, "detail text selector") if selector else None
    if root is None:
        root = soup.find("main") or soup.find("article") or soup.body or soup
    return _clean(root.get_text(" ", strip=True))[:DETAIL_TEXT_CAP]


def parse_detail(body: bytes, *, url: str, source: Source, content_type: str | None = None) -> Entry:
    """What an item's own page says about it: dates, a better summary, its text.

    Machine metadata first (JSON-LD, then `og:`/`article:` meta tags), the catalog's
    `detail_*_selector`s second; the page's text goes to the classifier as `detail_text`.
    """
    if not body or not body.strip():
        raise ParseError(f"empty page at {url}")
    options = source.options
    tz = source.timezone
    languages = _languages(source)
    soup = _soup(body, content_type)
    objects = _jsonld_objects(soup)
    events = [o for o in objects if _is_event(o)]
    meta = _meta_values(soup)

    published_text = _first_value(objects, ("datePublished", "dateCreated", "uploadDate")) or next(
        (meta[k] for k in _PUBLISHED_META if k in meta), None
    )
    published = dates.parse_datetime(published_text, tz=tz, languages=languages) if published_text else None
    updated_text = _first_value(objects, ("dateModified",)) or next((meta[k] for k in _UPDATED_META if k in meta), None)
    updated = dates.parse_datetime(updated_text, tz=tz, languages=languages) if updated_text else None
    # An event's endDate is when it ends, not a deadline.
    deadline_text = _first_value([o for o in objects if not _is_event(o)], _JSONLD_DEADLINE)
    event_start, event_end = _first_value(events, ("startDate",)), _first_value(events, ("endDate",))
    summary = _first_value(objects, ("description",)) or next((meta[k] for k in _SUMMARY_META if k in meta), None)
    title = _first_value(objects, ("headline", "name")) or meta.get("og:title")

    if published is None:
        published = _date_of(_select_one(soup, options.detail_date_selector, "detail date selector"), source)
    if published is None:
        published = _marked_up_date(soup, tz)
    summary_text = _marked_text(soup, options.detail_summary_selector, "detail summary selector")
    if summary_text:
        summary = summary_text
    if title is None:
        h1 = soup.find("h1")
        title = _clean(h1.get_text(" ", strip=True)) if h1 else None
    stated = Stated(
        deadline=_written_date(deadline_text, tz, languages),
        event_date=_written_date(event_start, tz, languages),
        event_end=_written_date(event_end, tz, languages),
        deadline_text=_marked_text(soup, options.detail_deadline_selector, "detail deadline selector"),
        opening_text=_marked_text(soup, options.detail_opening_selector, "detail opening selector"),
    )
    text = _page_text(soup, source)
    return Entry(
        title=_clean(title) or None if title else None,
        link=url,
        summary=_clean(summary) or None if summary else None,
        published=published,
        updated=updated,
        detail_text=text or None,
        stated=stated,
    )


def _marked_up_date(soup: BeautifulSoup, tz: str) -> datetime | None:
    """The publication date a page marks up without stating it in metadata (a theme's meta line,
    "By press office, 14 May, 2024"), found by htmldate from the markup only: its search of the
    free text takes copyright years for dates (bench/detail_dates.py). Given a tree, never a string:
    htmldate downloads a string that looks like a URL."""
    from htmldate import find_date
    from lxml import html as lxml_html

    try:
        found = find_date(lxml_html.document_fromstring(str(soup)), original_date=True, extensive_search=False)
    except Exception:  # a page htmldate cannot read has no date for us
        return None
    day = dates.parse_date(found) if found else None
    return dates.midnight_utc(day, tz) if day else None


def _written_date(text: str | None, tz: str, languages: list[str]) -> date | None:
    """The calendar day a machine date names where it was written ("2024-12-05T10:00+09:00" is 5 December)."""
    if not text:
        return None
    if re.match(r"\d{4}-\d{2}-\d{2}", text):
        return dates.parse_date(text[:10])
    return dates.parse_date(text, languages=languages)


def detail_targets(pages: list[ParseResult], source: Source) -> list[str]:
    """Item pages worth fetching for this source this run: none unless `detail = true`, at most `detail_limit`."""
    if not source.options.detail:
        return []
    limit = source.options.detail_limit
    targets: list[str] = []
    for entry in (e for page in pages for e in page.entries):
        if len(targets) >= limit:
            break
        if entry.link and entry.link not in targets:
            targets.append(entry.link)
    return targets


def describe_selectors(body: bytes, *, url: str, source: Source) -> list[str]:
    """Human lines for `sources check`: how many nodes each selector matched and the first items."""
    options = source.options
    lines: list[str] = []
    selector = options.item_selector
    soup = _soup(body or b"")
    try:
        items = listing_items(soup, options)
    except ParseError as exc:
        return [str(exc)]
    lines.append(f"item_selector {selector!r}: {len(items)} match(es)")
    if not items:
        lines.append(f"item selector '{selector}' matched nothing on {url}: the page layout may have changed")
        return lines + suggested_selectors(body, url=url, source=source)
    for key in ("title_selector", "link_selector", "date_selector", "summary_selector", "deadline_selector",
                "opening_selector", "event_date_selector"):
        sub = getattr(options, key)
        if not sub:
            continue
        try:
            hits = sum(1 for item in items if item.select_one(sub) is not None)
        except SelectorSyntaxError:
            lines.append(f"{key} {sub!r}: not a valid CSS selector")
            continue
        lines.append(f"{key} {sub!r}: found in {hits} of {len(items)} items")
    try:
        result = parse_listing(body, url=url, source=source)
    except ParseError as exc:
        lines.append(str(exc))
        return lines + suggested_selectors(body, url=url, source=source)
    lines.append(f"{len(result.entries)} item(s) would be extracted")
    for number, entry in enumerate(result.entries[:5], start=1):
        stamp = entry.published.isoformat() if entry.published else "no date"
        parts = [f"{number}. {entry.title}", entry.link or "", stamp]
        if entry.stated.deadline_text:
            parts.append(f"deadline: {entry.stated.deadline_text}")
        lines.append(" | ".join(parts))
    lines.extend(f"warning: {w}" for w in result.warnings)
    return lines


def suggested_selectors(body: bytes, *, url: str, source: Source) -> list[str]:
    """The page's list of dated links as selectors to paste into the catalog (sources.structure)."""
    from spacedigest.sources.catalog import toml_line
    from spacedigest.sources.structure import derive

    derived = derive(source, body, url=url)
    if derived is None:
        return ["no list of dated links found on the page to derive new selectors from"]
    found, result = derived
    current = found.options
    keys = ("item_selector", "title_selector", "link_selector", "date_selector", "summary_selector")
    lines = [f"new selectors, which read {len(result.entries)} item(s) on this page; paste them into the "
             f"catalog entry of {source.id} in place of the old ones:"]
    lines += [f"    {toml_line(key, getattr(current, key))}" for key in keys if getattr(current, key)]
    return lines


class HtmlKind(BaseKind):
    """A listing page read with the catalog's CSS selectors, optionally with each item's own page."""

    name = "html"
    options = HtmlOptions
    obeys_robots = True

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        return parse_listing(body, url=url, source=source, content_type=content_type)

    def detail_targets(self, source: Source, pages: list[ParseResult]) -> list[str]:
        return detail_targets(pages, source)

    def parse_detail(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> Entry:
        return parse_detail(body, url=url, source=source, content_type=content_type)

    def describe(self, source: Source, body: bytes, *, url: str) -> list[str]:
        return describe_selectors(body, url=url, source=source)

    def fallback(self, source: Source, failed: Fetched, look) -> Fallback | None:
        """The page loaded but the selectors found nothing (a redesign): its list read again with
        derived selectors, or its feed, WordPress API or sitemap (sources.discover)."""
        from spacedigest.sources.discover import alternative

        return alternative(source, failed, look)


KIND = HtmlKind()
