"""A site's XML sitemap -> the newest pages of one section (kind "sitemap").

For sites without a feed or API whose listing page cannot be read: the sitemap
(https://www.sitemaps.org/protocol.html) lists every page with its `<lastmod>`; the pages under
`section` (a path prefix such as "/news/"), newest first, are the items, and each item's own page
gives its title, publication date and summary (the html kind's item-page reader). A sitemap index
is refused with the sitemaps it lists: `sources discover` picks the one that holds the section.

Pure functions over the fetched bytes; lxml parses the XML with entities and network access off.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

from lxml import etree

from spacedigest.sources import dates
from spacedigest.sources.html import ItemPageOptions, absolute_link
from spacedigest.sources.html import parse_detail as parse_item_page
from spacedigest.sources.kinds import BaseKind
from spacedigest.sources.models import Entry, ParseError, ParseResult, Source

DEFAULT_MAX_ITEMS = 20
_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024  # the protocol's own limit for one sitemap
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, kw_only=True)
class SitemapOptions(ItemPageOptions):
    """The catalog keys of a sitemap source."""

    section: str = "/"  # only pages whose path starts with this ("/news/")
    max_items: int = DEFAULT_MAX_ITEMS  # the newest pages by lastmod
    detail_limit: int = DEFAULT_MAX_ITEMS  # item pages read per run (titles and dates come from them)


@dataclass(frozen=True)
class Listed:
    """One <url> or <sitemap> of a sitemap document."""

    loc: str
    lastmod: datetime | None


@dataclass(frozen=True)
class SitemapDocument:
    index: bool  # a <sitemapindex> (its entries are sitemaps) rather than a <urlset>
    entries: tuple[Listed, ...]


def read_sitemap(body: bytes, *, url: str) -> SitemapDocument:
    """A sitemap or sitemap index document; ParseError with a one-line reason otherwise."""
    if not body or not body.strip():
        raise ParseError("empty sitemap")
    if body[:2] == _GZIP_MAGIC:
        from spacedigest.sources.feed import gunzip_capped

        body = gunzip_capped(body, MAX_DECOMPRESSED_BYTES)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not a sitemap: {' '.join(str(exc).split())[:200]}") from None
    if root is None or etree.QName(root).localname not in ("urlset", "sitemapindex"):
        name = etree.QName(root).localname if root is not None else "nothing"
        raise ParseError(f"not a sitemap: the document is <{name}>, not <urlset> or <sitemapindex>")
    index = etree.QName(root).localname == "sitemapindex"
    listed = []
    for node in root:
        if not isinstance(node.tag, str) or etree.QName(node).localname not in ("url", "sitemap"):
            continue
        loc = _child_text(node, "loc")
        link = absolute_link(url, loc) if loc else None
        if link:
            stamp = _child_text(node, "lastmod")
            listed.append(Listed(link, dates.parse_datetime(stamp) if stamp else None))
    return SitemapDocument(index, tuple(listed))


def _child_text(node, name: str) -> str | None:
    child = node.find(_NS + name)
    if child is None:
        child = node.find(name)  # a sitemap without the namespace
    text = (child.text or "").strip() if child is not None else ""
    return text or None


def in_section(link: str, section: str, site: str) -> bool:
    """Is `link` a page of `section` (a path prefix) on the site of `site`? The section page
    itself is not one of its items."""
    parts, home = urlsplit(link), urlsplit(site)
    if parts.netloc.lower() != home.netloc.lower():
        return False
    path = parts.path or "/"
    prefix = section if section.endswith("/") else section + "/"
    return path.startswith(prefix) and path.rstrip("/") != section.rstrip("/")


def section_of(url: str) -> str:
    """The section a page is in: its path's folder ("/en/news/" for /en/news/ or /en/news/index.html;
    "/news/" for /news)."""
    path = urlsplit(url).path or "/"
    if path.endswith("/"):
        return path
    last = path.rsplit("/", 1)[-1]
    return path.rsplit("/", 1)[0] + "/" if "." in last else path + "/"


def parse_sitemap(body: bytes, *, url: str, source: Source) -> ParseResult:
    document = read_sitemap(body, url=url)
    if document.index:
        children = ", ".join(e.loc for e in document.entries[:3])
        raise ParseError(f"a sitemap index, not a list of pages: use one of its sitemaps ({children})")
    options = source.options
    section = options.section or "/"
    pages = [e for e in document.entries if in_section(e.loc, section, url)]
    if not pages:
        raise ParseError(f"no page of the sitemap is under {section}")
    pages.sort(key=lambda e: e.lastmod or _NEVER, reverse=True)
    kept = pages[: options.max_items]
    warnings = () if any(p.lastmod for p in kept) else ("no <lastmod> in the sitemap: the newest pages are unknown",)
    return ParseResult(
        entries=tuple(Entry(link=p.loc, updated=p.lastmod) for p in kept),
        feed_link=urljoin(url, "/"),
        warnings=warnings,
    )


class SitemapKind(BaseKind):
    """The newest pages of one section of a sitemap, each read from its own page."""

    name = "sitemap"
    options = SitemapOptions
    obeys_robots = True  # the item pages are pages

    def parse(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> ParseResult:
        return parse_sitemap(body, url=url, source=source)

    def detail_targets(self, source: Source, pages: list[ParseResult]) -> list[str]:
        links = [e.link for page in pages for e in page.entries if e.link]
        return list(dict.fromkeys(links))[: source.options.detail_limit]

    def parse_detail(self, source: Source, body: bytes, *, url: str, content_type: str | None) -> Entry:
        return parse_item_page(body, url=url, source=source, content_type=content_type)


KIND = SitemapKind()
