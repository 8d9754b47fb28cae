"""Finding how to follow a site from any of its pages: `spacedigest sources discover URL`, and the
fallback of an html source whose selectors stopped matching.

The ways, in the order `discover` tries them (the issue's order: the more a site states itself,
the better the source):
1. the URL is itself a feed (or a sitemap, or a WordPress API answer);
2. feeds the page announces (`<link rel="alternate">`), then common paths (`/feed/`, `/rss.xml`,
   `/feed.atom`, …) — a feed found only by guessing must carry the page's own links;
3. a WordPress REST API (`<link rel="https://api.w.org/">`, the `Link` header, `/wp-json/`);
4. a sitemap (robots.txt `Sitemap:` lines, `/sitemap.xml`, `/wp-sitemap.xml`, indexes followed)
   with `lastmod`, restricted to the section the URL is in;
5. the page's repeated structure (sources.structure) as selectors for the html kind.

Each way is checked by reading it with its kind's own parser; what was tried and why it did not
fit is kept for the report. The reading of pages, feeds and sitemaps is pure (sources.structure,
sources.sitemap, the kinds' parsers); the requests go through a `Retriever`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

from spacedigest.sources.kinds import Retriever, kind_named
from spacedigest.sources.models import Fallback, Fetched, ParseError, ParseResult, Request, Source

# WordPress, Drupal, Hugo/Jekyll and hand-made sites' usual feed addresses.
COMMON_FEED_PATHS = ("/feed/", "/rss.xml", "/feed.atom", "/atom.xml", "/feed.xml", "/index.xml")
SECTION_FEED_PATHS = ("feed/", "rss.xml", "feed.xml")
COMMON_SITEMAPS = ("/sitemap.xml", "/wp-sitemap.xml", "/sitemap_index.xml")
FEED_TYPES = re.compile(r"(rss|atom|rdf)\+xml", re.IGNORECASE)
_KANA = re.compile(r"[\u3040-\u30ff]")
# A sitemap index is followed this far (a news site may list hundreds of sitemaps).
MAX_CHILD_SITEMAPS = 12
# A sitemap section needs this many dated pages to be worth following.
MIN_SITEMAP_PAGES = 2


@dataclass(frozen=True)
class Tried:
    """One way tried: which step, where, and what came of it."""

    step: str
    where: str
    outcome: str


@dataclass(frozen=True)
class Found:
    source: Source
    how: str  # "announced feed https://…/feed/"
    step: str


@dataclass
class Discovery:
    url: str
    found: Found | None = None
    tried: list[Tried] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """What a page says about where its content can be followed."""

    url: str
    feeds: tuple[tuple[str, str], ...]  # (url, title) announced, in page order
    api_root: str | None  # the WordPress REST API root
    api_alternate: str | None  # this page's own REST resource (a category archive's)
    links: frozenset[str]  # every link of the page, absolute
    language: str | None
    site_name: str | None
    title: str | None


# --- reading a page (pure) --------------------------------------------------------------------


def read_page(body: bytes, *, url: str, content_type: str | None = None, headers: dict | None = None) -> Page:
    from spacedigest.sources.html import _base_url, _soup, absolute_link

    soup = _soup(body, content_type)
    base = _base_url(soup, url)
    feeds, api_root, api_alternate = [], None, None
    for link in soup.find_all("link", href=True):
        rel = " ".join(link.get("rel") or []).lower()
        href = absolute_link(base, link["href"])
        if not href:
            continue
        kind = (link.get("type") or "").lower()
        if "alternate" in rel.split() and FEED_TYPES.search(kind):
            feeds.append((href, " ".join((link.get("title") or "").split())))
        elif rel == "https://api.w.org/":
            api_root = href
        elif "alternate" in rel.split() and kind == "application/json" and "/wp/v2/" in href:
            api_alternate = href
    header = (headers or {}).get("link") or ""
    match = re.search(r'<([^>]+)>\s*;\s*rel="https://api\.w\.org/"', header)
    if api_root is None and match:
        api_root = absolute_link(base, match.group(1))
    links = frozenset(filter(None, (absolute_link(base, a.get("href")) for a in soup.find_all("a", href=True))))
    html = soup.find("html")
    language = (html.get("lang") or "").split("-")[0].lower() if html else ""
    if not language and _KANA.search(soup.get_text(" ")[:5000]):
        language = "ja"  # a hand-made Japanese page that declares no language
    site = soup.find("meta", attrs={"property": "og:site_name"})
    title = soup.find("title")
    return Page(url, tuple(dict.fromkeys(feeds)), api_root, api_alternate, links, language or None,
                (site.get("content") or "").strip() or None if site else None,
                " ".join(title.get_text().split()) or None if title else None)


def comments_feed(url: str, title: str) -> bool:
    """WordPress and others announce a comments feed beside the content feed."""
    return "/comments/" in url or bool(re.search(r"\bcomments?\b|コメント", title, re.IGNORECASE))


def feed_candidates(page: Page, section: str) -> list[tuple[str, str]]:
    """Announced feeds, the section's own first; comment feeds left out."""
    announced = [(u, t) for u, t in page.feeds if not comments_feed(u, t)]
    return sorted(announced, key=lambda ut: not urlsplit(ut[0]).path.startswith(section.rstrip("/") or "/"))


def guessed_feed_urls(url: str, section: str, announced: set[str]) -> list[str]:
    root = urljoin(url, "/")
    paths = [urljoin(root, section + p) for p in SECTION_FEED_PATHS] if section not in ("", "/") else []
    paths += [urljoin(root, p) for p in COMMON_FEED_PATHS]
    return [u for u in dict.fromkeys(paths) if u not in announced]


# --- one way at a time (through the retriever) --------------------------------------------------


def _ask(look: Retriever, template: Source, url: str, *, accept: tuple = ()) -> Fetched:
    from spacedigest.sources.pipeline import with_headers

    return look.fetch(template.id, with_headers(Request(url, headers=accept), template))


def _reason(fetched: Fetched) -> str:
    return fetched.error or f"HTTP {fetched.http_status}"


def _as_kind(template: Source, kind: str, url: str, **options) -> Source:
    return replace(template, kind=kind, url=url, options=kind_named(kind).options(**options))


def _try_feed(look: Retriever, template: Source, url: str, tried: list[Tried], step: str
              ) -> tuple[Source, ParseResult] | None:
    fetched = _ask(look, template, url)
    if fetched.status != "ok":
        tried.append(Tried(step, url, _reason(fetched)))
        return None
    source = _as_kind(template, "feed", fetched.where if fetched.permanent_redirect else url)
    try:
        result = kind_named("feed").parse(source, fetched.body or b"", url=fetched.where,
                                          content_type=fetched.content_type)
    except ParseError as exc:
        tried.append(Tried(step, url, str(exc)))
        return None
    if not result.entries:
        tried.append(Tried(step, url, "a feed without entries"))
        return None
    return source, result


def _overlap(result: ParseResult, page: Page | None) -> int:
    if page is None:
        return 0
    from spacedigest.sources.normalize import canonical_url

    mine = {canonical_url(u) for u in page.links}
    return sum(1 for e in result.entries if e.link and canonical_url(e.link, result.feed_link) in mine)


def find_feed(look: Retriever, template: Source, page: Page, section: str, tried: list[Tried]) -> Found | None:
    """Step 2: an announced feed (the one sharing most links with the page), else a common path
    whose entries are links of the page."""
    best: tuple[int, Source, str] | None = None
    for url, title in feed_candidates(page, section):
        got = _try_feed(look, template, url, tried, "2 announced feed")
        if got is None:
            continue
        shared = _overlap(got[1], page)
        tried.append(Tried("2 announced feed", url, f"{len(got[1].entries)} entries, {shared} of them on the page"))
        if best is None or shared > best[0]:
            best = (shared, got[0], f"announced feed {url}")
    if best is not None:
        return Found(best[1], best[2], "2")
    for url in guessed_feed_urls(page.url, section, {u for u, _ in page.feeds}):
        got = _try_feed(look, template, url, tried, "2 common feed path")
        if got is None:
            continue
        shared = _overlap(got[1], page)
        if shared or urlsplit(page.url).path in ("", "/"):
            return Found(got[0], f"feed {url}", "2")
        tried.append(Tried("2 common feed path", url, "a feed, but none of its entries is on the page"))
    return None


def find_wordpress(look: Retriever, template: Source, page: Page, tried: list[Tried]) -> Found | None:
    """Step 3: the WordPress REST API the page names (or /wp-json/), its posts; a category
    archive's own posts when the page names its category."""
    from spacedigest.sources.jsondoc import ACCEPT_JSON

    root = page.api_root
    if root is None:
        probe = urljoin(page.url, "/wp-json/")
        fetched = _ask(look, template, probe, accept=ACCEPT_JSON)
        if fetched.status != "ok" or not (fetched.body or b"").lstrip().startswith(b"{"):
            tried.append(Tried("3 WordPress API", probe, "no WordPress API" if fetched.status == "ok"
                               else _reason(fetched)))
            return None
        root = probe
    if "rest_route=" in root:
        posts = root.split("rest_route=")[0] + "rest_route=/wp/v2/posts"
    else:
        posts = urljoin(root if root.endswith("/") else root + "/", "wp/v2/posts")
    category = re.search(r"/wp/v2/categories/(\d+)", page.api_alternate or "")
    if category:
        posts += ("&" if "?" in posts else "?") + f"categories={category.group(1)}"
    fetched = _ask(look, template, posts, accept=ACCEPT_JSON)
    if fetched.status != "ok":
        tried.append(Tried("3 WordPress API", posts, _reason(fetched)))
        return None
    feeds = [u for u, t in feed_candidates(page, "/")]
    source = _as_kind(template, "wordpress", posts, fallback_url=feeds[0] if feeds else None)
    try:
        result = kind_named("wordpress").parse(source, fetched.body or b"", url=fetched.where,
                                               content_type=fetched.content_type)
    except ParseError as exc:
        tried.append(Tried("3 WordPress API", posts, str(exc)))
        return None
    if not result.entries:
        tried.append(Tried("3 WordPress API", posts, "no posts"))
        return None
    return Found(source, f"WordPress API {posts}", "3")


def find_sitemap(look: Retriever, template: Source, url: str, section: str, tried: list[Tried]) -> Found | None:
    """Step 4: the sitemap (robots.txt's, else the usual places) holding the most dated pages of
    the section; an index is followed to its sitemaps."""
    from protego import Protego

    from spacedigest.sources.sitemap import in_section, read_sitemap

    root = urljoin(url, "/")
    robots = _ask(look, template, urljoin(root, "/robots.txt"))
    declared = list(Protego.parse((robots.body or b"").decode("utf-8", "replace")).sitemaps) \
        if robots.status == "ok" else []
    if not declared:
        tried.append(Tried("4 sitemap", urljoin(root, "/robots.txt"), "no Sitemap: line" if robots.status == "ok"
                           else _reason(robots)))
    best: tuple[int, str] | None = None
    for candidate in dict.fromkeys([*declared, *(urljoin(root, p) for p in COMMON_SITEMAPS)]):
        queue, seen = [candidate], 0
        while queue and seen <= MAX_CHILD_SITEMAPS:
            where = queue.pop(0)
            seen += 1
            fetched = _ask(look, template, where)
            if fetched.status != "ok":
                tried.append(Tried("4 sitemap", where, _reason(fetched)))
                continue
            try:
                document = read_sitemap(fetched.body or b"", url=fetched.where)
            except ParseError as exc:
                tried.append(Tried("4 sitemap", where, str(exc)))
                continue
            if document.index:
                queue += [e.loc for e in document.entries]
                continue
            dated = sum(1 for e in document.entries if e.lastmod and in_section(e.loc, section, url))
            tried.append(Tried("4 sitemap", where, f"{dated} dated page(s) under {section}"))
            if dated >= MIN_SITEMAP_PAGES and (best is None or dated > best[0]):
                best = (dated, where)
        if best is not None:
            break
    if best is None:
        return None
    source = _as_kind(template, "sitemap", best[1], section=section)
    return Found(source, f"sitemap {best[1]} (pages under {section})", "4")


def find_structure(template: Source, body: bytes, *, url: str, content_type: str | None,
                   tried: list[Tried], avoid: dict | None = None) -> Found | None:
    """Step 5: the page's list of dated links as html selectors."""
    from spacedigest.sources.structure import checked, find_listings, with_listing

    for listing in find_listings(body, url=url, content_type=content_type):
        if avoid and listing.options().items() <= avoid.items():
            continue  # the selectors that just failed
        if checked(template, listing, body, url=url, content_type=content_type) is None:
            tried.append(Tried("5 page structure", listing.item_selector, "too few items with a title, link and date"))
            continue
        source = with_listing(template, listing)
        return Found(source, f"selectors derived from the page ({listing.item_selector})", "5")
    tried.append(Tried("5 page structure", url, "no list whose items each hold a link and a date"))
    return None


# --- the two uses ------------------------------------------------------------------------------


def discover(url: str, look: Retriever, template: Source) -> Discovery:
    """The best way to follow the site of `url`, in the issue's order. `template` carries the id,
    organisation, language and headers the found source gets (kind, url and options are found)."""
    report = Discovery(url)
    tried = report.tried
    fetched = _ask(look, template, url)
    if fetched.status != "ok" or not fetched.body:
        tried.append(Tried("1 the URL", url, _reason(fetched) if fetched.status != "ok" else "an empty answer"))
        return report
    body, where = fetched.body, fetched.where
    itself = _what_it_is(template, body, where, fetched.content_type, tried)
    if itself is not None:
        report.found = replace(itself, source=_named(itself.source, None))
        return report
    page = read_page(body, url=where, content_type=fetched.content_type, headers=fetched.headers)
    template = _named(template, page)
    from spacedigest.sources.sitemap import section_of

    section = section_of(where)
    report.found = (find_feed(look, template, page, section, tried)
                    or find_wordpress(look, template, page, tried)
                    or find_sitemap(look, template, where, section, tried)
                    or _structure_if_allowed(look, template, body, where, fetched.content_type, tried))
    return report


def alternative(source: Source, failed: Fetched, look: Retriever) -> Fallback | None:
    """How to read a page source's items when its selectors match nothing on the page that loaded:
    selectors derived from that page again first (the same items, titles and links as the fixed
    selectors will give: nothing duplicated when staff paste them), then the page's announced
    feed, the WordPress API, the sitemap of its section."""
    if failed.status != "ok" or not failed.body:
        return None  # the page did not load: no layout to recover from
    from spacedigest.sources.catalog import options_of
    from spacedigest.sources.sitemap import section_of

    tried: list[Tried] = []
    body, where = failed.body, failed.where
    page = read_page(body, url=where, content_type=failed.content_type, headers=failed.headers)
    section = section_of(where)
    found = (find_structure(source, body, url=where, content_type=failed.content_type, tried=tried,
                            avoid=options_of(source))
             or find_feed(look, source, page, section, tried)
             or find_wordpress(look, source, page, tried)
             or find_sitemap(look, source, where, section, tried))
    return Fallback(found.source, found.how) if found else None


def _what_it_is(template: Source, body: bytes, url: str, content_type: str | None, tried: list[Tried]) -> Found | None:
    """Step 1: the URL is a feed, a sitemap or a WordPress API answer itself."""
    from spacedigest.sources.feed import looks_like_html

    if looks_like_html(body):
        tried.append(Tried("1 the URL", url, "an HTML page, not a feed"))
        return None
    for kind, how in (("feed", "the URL is a feed"), ("wordpress", "the URL is a WordPress API")):
        candidate = _as_kind(template, kind, url)
        try:
            result = kind_named(kind).parse(candidate, body, url=url, content_type=content_type)
        except ParseError:
            continue
        if result.entries:
            if result.feed_title and not candidate.organisation:
                candidate = replace(candidate, organisation=" ".join(result.feed_title.split())[:80])
            return Found(candidate, how, "1")
    from spacedigest.sources.sitemap import read_sitemap

    try:
        document = read_sitemap(body, url=url)
    except ParseError:
        tried.append(Tried("1 the URL", url, "neither a feed, a sitemap nor a page"))
        return None
    if document.index:
        tried.append(Tried("1 the URL", url, "a sitemap index: give one of its sitemaps"))
        return None
    return Found(_as_kind(template, "sitemap", url), "the URL is a sitemap", "1")


def _structure_if_allowed(look: Retriever, template: Source, body: bytes, url: str, content_type: str | None,
                          tried: list[Tried]) -> Found | None:
    allowed, reason = look.allowed(url)
    if not allowed:
        tried.append(Tried("5 page structure", url, reason or "disallowed by robots.txt"))
        return None
    return find_structure(template, body, url=url, content_type=content_type, tried=tried)


AUTO = "auto"  # a template's language to be read from the page


def _named(template: Source, page: Page | None) -> Source:
    """The template completed from the page: its language, name and organisation, when not given."""
    language = template.language
    if language == AUTO:
        language = page.language if page and page.language and re.fullmatch(r"[a-z]{2}", page.language) else "en"
    name = template.name or (page.title if page else "") or ""
    organisation = template.organisation or (page.site_name if page else None) or \
        (site_in_title(page.title) if page else None) or urlsplit(template.url).hostname or "?"
    return replace(template, language=language, name=name[:120], organisation=organisation)


_TITLE_PARTS = re.compile(r"\s+[|｜\-–—:]\s+|｜")


def site_in_title(title: str | None) -> str | None:
    """The site's name in a page title, which themes put last: "News | Nordic Space Office"."""
    parts = [p.strip() for p in _TITLE_PARTS.split(title or "") if p.strip()]
    return parts[-1][:80] if len(parts) >= 2 else None


def source_id_for(url: str) -> str:
    """A catalog id from the URL: host without www (and its port, if any), and the section
    ("harwellcampus-com-news")."""
    parts = urlsplit(url)
    host = (parts.hostname or "site").lower().removeprefix("www.")
    if parts.port:
        host = f"{host}-{parts.port}"
    path = [p for p in parts.path.split("/") if p and "." not in p][:2]
    text = "-".join([host.replace(".", "-"), *path])
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:60] or "site"


__all__ = ["discover", "alternative", "Discovery", "Found", "Tried", "read_page", "source_id_for"]
