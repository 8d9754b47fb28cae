"""OPML subscription lists <-> catalog sources (`sources import-opml` / `export-opml`).

Readers export OPML in many dialects (Google Reader, Liferea, Tiny Tiny RSS, ...): folders are
outlines without `xmlUrl`, nested at any depth; titles sit in `title` or `text`; other attributes
vary and are ignored. The parser is lxml with entity expansion and network access off, and
recovers from small XML faults, since these files come from elsewhere.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from lxml import etree

from spacedigest.sources.feed import FeedOptions
from spacedigest.sources.models import ParseError, Source

_PARSER = dict(resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_comments=True)
MAX_OUTLINES = 10_000
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _attr(outline: etree._Element, *names: str) -> str:
    """An attribute by name, case-insensitively (some exporters write xmlurl or XMLURL)."""
    lowered = {str(k).lower(): v for k, v in outline.attrib.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value and value.strip():
            return " ".join(value.split())
    return ""


def parse_opml(data: bytes) -> list[dict]:
    """Every feed outline as {title, xml_url, html_url, category}; folders become the category path."""
    if not data or not data.strip():
        raise ParseError("empty OPML file")
    if _ENTITY_DECLARATION.search(data):
        # OPML never needs a DTD; entity declarations only serve expansion bombs.
        raise ParseError("not an OPML document: it declares XML entities (refused)")
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(**_PARSER))
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not an OPML document: {' '.join(str(exc).split())}") from None
    if root is None or not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise ParseError("not an OPML document: the root element is not <opml>")
    body = next((child for child in root if isinstance(child.tag, str) and etree.QName(child).localname.lower() == "body"), None)
    if body is None:
        raise ParseError("not an OPML document: no <body>")
    feeds: list[dict] = []

    def walk(parent: etree._Element, path: list[str]) -> None:
        for outline in parent:
            if not isinstance(outline.tag, str) or etree.QName(outline).localname.lower() != "outline":
                continue
            if len(feeds) >= MAX_OUTLINES:
                return
            title = _attr(outline, "title", "text")
            xml_url = _attr(outline, "xmlUrl")
            if xml_url:
                feeds.append(
                    {
                        "title": title or xml_url,
                        "xml_url": xml_url,
                        "html_url": _attr(outline, "htmlUrl") or None,
                        "category": " / ".join(path) if path else (_attr(outline, "category") or None),
                    }
                )
            walk(outline, path + [title] if (title and not xml_url) else path)

    walk(body, [])
    return feeds


def slugify(text: str) -> str:
    """ASCII lower-case id from a title: accents folded, anything else becomes '-'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:60].strip("-")


def _unique(base: str, taken: set[str]) -> str:
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    taken.add(candidate)
    return candidate


def sources_from_opml(
    data: bytes,
    *,
    organisation_default: str = "Imported",
    language_default: str = "en",
    existing_ids: set[str] | frozenset[str] = frozenset(),
) -> list[Source]:
    """Feed sources for every http(s) feed in an OPML file; ids slugified and unique (also against `existing_ids`)."""
    taken = set(existing_ids)
    seen_urls: set[str] = set()
    sources: list[Source] = []
    for feed in parse_opml(data):
        url = feed["xml_url"].strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or url in seen_urls:
            continue
        seen_urls.add(url)
        base = slugify(feed["title"]) or slugify(parts.netloc.removeprefix("www.")) or "feed"
        options = FeedOptions(site_url=feed.get("html_url") or None, category=feed.get("category") or None)
        sources.append(
            Source(
                id=_unique(base, taken),
                organisation=organisation_default,
                kind="feed",
                url=url,
                language=language_default,
                enabled=True,
                name=feed["title"],
                options=options,
            )
        )
    return sources


def export_opml(sources: list[Source]) -> str:
    """OPML 2.0 of the feed sources, one folder per organisation (pages and APIs are not feeds: left out)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "spacedigest sources"
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for source in sources:
        if source.kind != "feed":
            continue
        folder = folders.get(source.organisation)
        if folder is None:
            folder = etree.SubElement(body, "outline", text=source.organisation, title=source.organisation)
            folders[source.organisation] = folder
        name = source.name or source.id
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": source.url}
        site = getattr(source.options, "site_url", None)
        if isinstance(site, str) and site:
            attributes["htmlUrl"] = site
        if source.language:
            attributes["language"] = source.language
        etree.SubElement(folder, "outline", **attributes)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode("utf-8")
