"""A listing page's repeated structure -> CSS selectors the `html` kind runs.

What `sources discover` falls back on when a site has no feed, API or sitemap, and what an html
source falls back on when its selectors stop matching (a redesign): the list whose items each hold
a link and a date. Sibling elements of one tag under one parent are a candidate list; a member
counts when it holds a link with text and a date (a `<time>`, or text sources.dates reads as one).
The best list (most such members, the most text per member, not in navigation, sidebars or
footers) is described by the simplest selectors that pick exactly its members, its title link,
its date and its summary — then checked by running the html kind's own parser with them.

Pure functions: bytes in, selectors out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import combinations

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from spacedigest.sources.dates import find_dates
from spacedigest.sources.models import ParseError, ParseResult, Source

# A list needs this many members with a link and a date to be one.
MIN_ITEMS = 2
# Share of the parsed entries that must carry a date for the selectors to be offered.
MIN_DATED_SHARE = 0.6
# A member this long, or holding this many dates, is a page section, not a list item.
MAX_ITEM_CHARS = 1500
MAX_ITEM_DATES = 4
# Places a list of links and dates is not the content (a sidebar's "recent posts", a footer).
_ASIDE_TAGS = {"nav", "header", "footer", "aside", "form"}
_ASIDE_WORDS = re.compile(r"(?:^|[-_\s])(?:side|sidebar|nav|navi|menu|gnav|footer|foot|header|widget|breadcrumbs?|"
                          r"comments?|related|popular|ranking|pager|pagination|banner)(?:$|[-_\s])", re.IGNORECASE)
# Link texts that are not a title.
_NOT_A_TITLE = re.compile(r"^(?:read more|more|continue reading|details?|lire la suite|en savoir plus|続きを読む|"
                          r"詳細|もっと見る|>>|»|→)\b", re.IGNORECASE)
# Classes that say an item's state or its post's details, not what it is ("format-standard" would
# miss the next video post): never used to name an item.
_UNSTABLE_CLASS = re.compile(r"\d|^(?:odd|even|first|last|active|current|selected|new|hidden|sticky)$|"
                             r"^(?:format|status|category|tag|has|is|post-format|language)-", re.IGNORECASE)
_DROPPED = ("script", "style", "noscript", "template", "svg", "iframe")
_GENERIC_TAGS = {"div", "span", "p", "a", "section", "td"}


@dataclass(frozen=True)
class Listing:
    """Selectors for one repeated structure of a page, and what they found."""

    item_selector: str
    title_selector: str | None
    link_selector: str | None
    date_selector: str | None
    summary_selector: str | None
    items: int  # members with a link and a date
    score: float
    item_siblings: bool = False  # each item is a <dt> and the <dd> after it

    def options(self) -> dict:
        """The html kind's catalog options for this listing (unset ones left out)."""
        found = {"item_selector": self.item_selector, "title_selector": self.title_selector,
                 "link_selector": self.link_selector, "date_selector": self.date_selector,
                 "summary_selector": self.summary_selector, "item_siblings": self.item_siblings}
        return {k: v for k, v in found.items() if v}


@dataclass
class _Member:
    element: Tag
    link: Tag  # the item's link
    title: Tag  # the element whose text is its title: the link, or a heading inside a card-like link
    date: Tag  # the element whose text (or `datetime`) is the date; the member itself for bare text
    summary: Tag | None


def find_listings(body: bytes, *, url: str, content_type: str | None = None, limit: int = 3) -> list[Listing]:
    """The page's lists of dated links, best first (at most `limit`)."""
    from spacedigest.sources.html import _soup

    soup = _soup(body, content_type)
    for tag in soup(list(_DROPPED)):
        tag.decompose()
    counts = _class_counts(soup)
    found: list[Listing] = []
    seen: set[str] = set()
    for parent, members, paired in _groups(soup):
        listing = _describe(soup, parent, members, counts, paired)
        if listing is not None and listing.item_selector not in seen:
            seen.add(listing.item_selector)
            found.append(listing)
    found.sort(key=lambda listing: -listing.score)
    return found[:limit]


def checked(source: Source, listing: Listing, body: bytes, *, url: str, content_type: str | None = None
            ) -> ParseResult | None:
    """What the html kind extracts from the page with these selectors, when enough of it is dated."""
    from spacedigest.sources.html import parse_listing

    candidate = with_listing(source, listing)
    try:
        result = parse_listing(body, url=url, source=candidate, content_type=content_type)
    except ParseError:
        return None
    dated = sum(1 for e in result.entries if e.published)
    if len(result.entries) < MIN_ITEMS or dated < max(MIN_ITEMS, MIN_DATED_SHARE * len(result.entries)):
        return None
    return result


def with_listing(source: Source, listing: Listing) -> Source:
    """An html source reading `listing`: the listing selectors replaced, the rest of its options kept
    (item pages, limits, language); a date format of the old layout is dropped."""
    from spacedigest.sources.html import HtmlOptions

    options = source.options if isinstance(source.options, HtmlOptions) else HtmlOptions(item_selector="*")
    cleared = dict(title_selector=None, link_selector=None, date_selector=None, summary_selector=None,
                   deadline_selector=None, opening_selector=None, event_date_selector=None, date_format="auto",
                   item_siblings=False)
    options = replace(options, **{**cleared, **listing.options()})
    return replace(source, kind="html", options=options)


def derive(source: Source, body: bytes, *, url: str, content_type: str | None = None
           ) -> tuple[Source, ParseResult] | None:
    """An html source for the page's best dated list that the html kind reads, and what it read."""
    for listing in find_listings(body, url=url, content_type=content_type):
        result = checked(source, listing, body, url=url, content_type=content_type)
        if result is not None:
            return with_listing(source, listing), result
    return None


# --- finding the lists ------------------------------------------------------------------------


def _groups(soup: BeautifulSoup):
    """(parent, members, paired): children of one tag under one parent, two or more; in a <dl>,
    also its <dt>s, each paired with the <dd>s after it (the date in one, the link in the other)."""
    for parent in soup.find_all(True):
        by_tag: dict[str, list[Tag]] = {}
        for child in parent.find_all(True, recursive=False):
            by_tag.setdefault(child.name, []).append(child)
        for members in by_tag.values():
            if len(members) >= MIN_ITEMS:
                yield parent, members, False
        if parent.name == "dl" and len(by_tag.get("dt", ())) >= MIN_ITEMS and by_tag.get("dd"):
            yield parent, by_tag["dt"], True


def _with_siblings(soup: BeautifulSoup, start: Tag, starts: list[Tag]) -> Tag:
    """`start` and its next siblings up to the next start, in one element (as the html kind reads
    an item with `item_siblings`)."""
    import copy

    box = soup.new_tag("div")
    box.append(copy.copy(start))
    others = {id(s) for s in starts}
    for sibling in start.find_next_siblings():
        if id(sibling) in others:
            break
        box.append(copy.copy(sibling))
    return box


def _member(element: Tag) -> _Member | None:
    text = _text(element)
    if not text or len(text) > MAX_ITEM_CHARS:
        return None
    link = _title_link(element)
    if link is None:
        return None
    title = _title_inside(link)
    date = _date_element(element, title)
    if date is None:
        return None
    return _Member(element, link, title, date, _summary(element, title, date))


def _title_link(element: Tag) -> Tag | None:
    """The link that names the item: in a heading first, else the link with the longest text."""
    links = [a for a in ([element] if element.name == "a" else []) + element.find_all("a", href=True)
             if a.get("href") and not a["href"].startswith(("#", "javascript:", "mailto:"))]
    titled = [a for a in links if len(_text(a)) >= 4 and not _NOT_A_TITLE.match(_text(a)) and not find_dates_only(a)]
    if not titled:
        return None
    in_heading = [a for a in titled if a.find_parent(re.compile(r"^h[1-6]$")) or a.find(re.compile(r"^h[1-6]$"))]
    return (in_heading or sorted(titled, key=lambda a: -len(_text(a))))[0]


def _title_inside(link: Tag) -> Tag:
    """A card whose whole body is one link ("<a><span>2024.11.18</span><p>Title</p></a>"): the
    part of it that is the title; else the link itself."""
    if not find_dates(_text(link)):
        return link
    parts = [el for el in link.find_all(True) if not find_dates(_text(el)) and len(_text(el)) >= 4
             and not el.find(True, recursive=False)]
    return max(parts, key=lambda el: len(_text(el))) if parts else link


def find_dates_only(element: Tag) -> bool:
    """True when an element's text is nothing but a date (a date that links to the post)."""
    text = _text(element)
    found = find_dates(text)
    return bool(found) and len(text) - (found[0][1] - found[0][0]) <= 3


def _date_element(element: Tag, title: Tag) -> Tag | None:
    """Where the member states its date: a <time>, the smallest element whose text is a date, or
    the member itself when the date is bare text beside the link."""
    for time in element.find_all("time"):
        if (time.get("datetime") and find_dates(time["datetime"])) or find_dates(_text(time)):
            return time
    text = _text(element)
    dates = find_dates(text)
    if not dates or len(dates) > MAX_ITEM_DATES:
        return None
    title_text = _text(title)
    candidates = [el for el in element.find_all(True) if el is not title and title not in el.parents
                  and el not in title.parents and len(_text(el)) <= 60 and find_dates(_text(el))]
    if candidates:
        # The first date the item states (a posting date comes before an event's or a deadline),
        # in the smallest element that holds it.
        first = find_dates(_text(candidates[0]))[0][2]
        holding = [el for el in candidates if find_dates(_text(el))[0][2] == first]
        return min(reversed(holding), key=lambda el: len(_text(el)))  # on a tie, the innermost
    # bare text: the date must be outside the title ("2024.05.14 <a>…</a>")
    outside = text.replace(title_text, " ", 1)
    return element if find_dates(outside) else None


def _summary(element: Tag, title: Tag, date: Tag) -> Tag | None:
    best, length = None, 40
    for el in element.find_all(["p", "div", "span", "td", "dd"]):
        if el is title or title in el.parents or el in title.parents or el is date or date in el.parents \
                or el in date.parents:
            continue
        size = len(_text(el))
        if size > length:
            best, length = el, size
    return best


def _text(element: Tag) -> str:
    return " ".join(element.get_text(" ", strip=True).split())


# --- describing one list with selectors --------------------------------------------------------


def _describe(soup: BeautifulSoup, parent: Tag, elements: list[Tag], counts: dict[str, int],
              paired: bool = False) -> Listing | None:
    members, starts = [], []
    for element in elements:
        member = _member(_with_siblings(soup, element, elements) if paired else element)
        if member is not None:
            members.append(member)
            starts.append(element)
    if len(members) < MIN_ITEMS or len(members) < 0.5 * len(elements):
        return None
    item = _item_selector(soup, parent, starts, elements, counts)
    if item is None:
        return None
    title = _relative(members, lambda m: m.title, counts, _IN_CONTEXT)
    if title is None:
        return None
    link = None
    if any(m.title is not m.link for m in members):  # a heading inside a card-like link
        link = _relative(members, lambda m: m.link, counts, _IN_CONTEXT)
        if link is None:
            return None
    date = ":scope" if all(m.date is m.element for m in members) else _relative(
        members, lambda m: m.date, counts, _BY_ITSELF)
    if date is None:
        return None
    with_summary = [m for m in members if m.summary is not None]
    summary = _relative(with_summary, lambda m: m.summary, counts, _BY_ITSELF) \
        if len(with_summary) >= 0.5 * len(members) else None
    average = sum(len(_text(m.element)) for m in members) / len(members)
    score = len(members) * (1 + min(average, 400) / 100) * (0.25 if _aside(parent) else 1.0)
    return Listing(item, title, link, date, summary, len(members), round(score, 2), paired)


def _aside(element: Tag) -> bool:
    for node in [element, *element.parents]:
        if not isinstance(node, Tag):
            continue
        if node.name in _ASIDE_TAGS:
            return True
        words = " ".join([node.get("id") or "", *(node.get("class") or [])])
        if words and _ASIDE_WORDS.search(words):
            return True
    return False


def _stable_classes(elements: list[Tag], counts: dict[str, int]) -> list[str]:
    """Classes every element has, without digits or state, rarest on the page first."""
    common = None
    for el in elements:
        classes = {c for c in (el.get("class") or []) if not _UNSTABLE_CLASS.search(c) and _css_ident(c)}
        common = classes if common is None else common & classes
    return sorted(common or (), key=lambda c: (counts.get(c, 0), c))


def _signatures(elements: list[Tag], counts: dict[str, int]) -> list[str]:
    """Ways to name these elements, simplest first: tag, tag.class, tag.class.class (.class when
    their tags differ: a <time> in one item, a <span> in the next)."""
    tags = {el.name for el in elements}
    tag = elements[0].name if len(tags) == 1 else ""
    classes = _stable_classes(elements, counts)[:4]
    out = [tag] if tag else []
    out += [f"{tag}.{c}" for c in classes] + [f"{tag}.{a}.{b}" for a, b in combinations(classes, 2)]
    return out


def _item_selector(soup: BeautifulSoup, parent: Tag, starts: list[Tag], elements: list[Tag],
                   counts: dict[str, int]) -> str | None:
    """The simplest selector whose matches are members of this list and include every dated one."""
    wanted = {id(e) for e in starts}
    allowed = {id(e) for e in elements}
    own = _signatures(starts, counts)
    scopes = [""]
    for ancestor in [parent, *parent.parents][:4]:
        if not isinstance(ancestor, Tag) or ancestor.name in ("html", "[document]"):
            break
        scopes += [f"{s} " for s in _ancestor_names(ancestor, counts)]
    for scope in scopes:
        for signature in own:
            if not scope and signature in _GENERIC_TAGS:
                continue  # "div" picks this page's items today and any div tomorrow
            selector = f"{scope}{signature}".strip()
            got = _select(soup, selector)
            ids = {id(e) for e in got}
            if got and wanted <= ids <= allowed:
                return selector
    return None


def _ancestor_names(element: Tag, counts: dict[str, int]) -> list[str]:
    names = []
    ident = element.get("id")
    if ident and not re.search(r"\d", ident) and _css_ident(ident):
        names.append(f"#{ident}")
    names += [s for s in _signatures([element], counts) if "." in s][:2]
    return names


def _IN_CONTEXT(selector: str) -> tuple:
    """For links: named by a class or inside a heading ("h2.entry-title a"), not just "the first a"
    (a thumbnail or category link may come first on the next page)."""
    named = "." in selector or re.search(r"\bh[1-6]\b", selector)
    return (not named, selector.count(" "), len(selector))


def _BY_ITSELF(selector: str) -> tuple:
    """For dates and summaries: the element's own class ("span.date"), else the plainest ("time")."""
    last = selector.split(" ")[-1]
    return ("." not in last, selector.count(" "), len(selector))


def _relative(members: list[_Member], pick, counts: dict[str, int], preference) -> str | None:
    """The simplest selector that finds, inside every member, the element `pick` chose there."""
    if not members:
        return None
    targets = [pick(m) for m in members]
    first, target = members[0].element, targets[0]
    chain = [a for a in target.parents if a is not first and first in a.parents][:3]
    candidates: list[str] = []
    own = _signatures(targets, counts)
    candidates += own
    for ancestor in chain:
        for name in _signatures([_same_place(m.element, ancestor, first) or ancestor for m in members], counts):
            for signature in own[:3]:
                candidates.append(f"{name} {signature}")
    for selector in sorted(dict.fromkeys(candidates), key=preference):
        if all(_first(m.element, selector) is t for m, t in zip(members, targets)):
            return selector
        if all(_text(_first(m.element, selector) or m.element) == _text(t) and _first(m.element, selector) is not None
               for m, t in zip(members, targets)):
            return selector
    return None


def _same_place(member: Tag, ancestor: Tag, first: Tag) -> Tag | None:
    """The element of `member` in the place `ancestor` holds in `first` (same tag path)."""
    path = []
    node = ancestor
    while node is not first:
        siblings = [s for s in node.parent.find_all(node.name, recursive=False)]
        path.append((node.name, siblings.index(node)))
        node = node.parent
    node = member
    for name, index in reversed(path):
        found = node.find_all(name, recursive=False)
        if index >= len(found):
            return None
        node = found[index]
    return node


def _first(root: Tag, selector: str) -> Tag | None:
    found = _select(root, selector)
    return found[0] if found else None


def _select(root: Tag, selector: str) -> list[Tag]:
    try:
        return root.select(selector)
    except SelectorSyntaxError:
        return []


def _class_counts(soup: BeautifulSoup) -> dict[str, int]:
    counts: dict[str, int] = {}
    for el in soup.find_all(class_=True):
        for c in el.get("class") or ():
            counts[c] = counts.get(c, 0) + 1
    return counts


_IDENT = re.compile(r"^-?[_a-zA-Z][_a-zA-Z0-9-]*$")


def _css_ident(name: str) -> bool:
    return bool(_IDENT.match(name))


__all__ = ["Listing", "find_listings", "checked", "derive", "with_listing"]
