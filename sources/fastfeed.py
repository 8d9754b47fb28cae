"""Fast path of `sources.feed.parse_feed`: well-formed RSS 2.0 / 0.9x, RSS 1.0 (RDF) and Atom 1.0
read with lxml, producing the same raw entries feedparser would (about 20x less CPU).

feedparser's result is defined by its SAX handler, not by the feed specifications, so this module
mirrors that handler for the elements `parse_feed` reads (title, link, guid/id, summary, content,
dates, and the channel's title and link) in the order it sees them, and reuses feedparser's own
helpers wherever they decide a value (encoding choice, date parsing, URI fix-up). Anything it has
not been checked against — a DOCTYPE, xml:base, markup inside a text element, Atom xhtml or base64
content, an element whose feedparser handler could change those fields, an encoding feedparser would
have to override — raises `_Fallback`, and the caller runs feedparser instead: slower, never different.

The parser never loads a DTD, never resolves an entity and never touches the network.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

__all__ = ["parse", "fallback_reason"]


class _Fallback(Exception):
    """The fast path is not certain to match feedparser on this document."""


# Namespace URI (lower case) -> feedparser's prefix for it ('' for the core RSS/Atom namespaces).
_KNOWN_NS = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_ATOM_NS = "http://www.w3.org/2005/atom"
_RSS10_NS = "http://purl.org/rss/1.0/"
_NETSCAPE_NS = "http://my.netscape.com/rdf/simple/0.9/"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Every element name feedparser has a handler for ("_start_x"/"_end_x"): such an element is
# either read below or vetted as harmless in _INERT; any other one makes the document fall back.
_HANDLED = frozenset(n.split("_", 2)[2] for n in dir(StrictFeedParser) if n.startswith(("_start_", "_end_")))

# Keys an element without a handler must not be stored under (feedparser stores such an element's
# text under its own name, and FeedParserDict maps some names onto others: date -> updated, ...).
_COLLIDING = frozenset({
    "title", "title_detail", "link", "links", "id", "guid", "guidislink", "summary", "summary_detail",
    "description", "description_detail", "content", "published", "published_parsed", "issued",
    "issued_parsed", "updated", "updated_parsed", "modified", "modified_parsed", "date", "date_parsed",
})

# Elements with a feedparser handler that never touches the fields parse_feed reads (checked in
# feedparser 6.0's handlers): "text" ones must hold text only, "author" ones name/email/uri only.
_INERT = {
    **dict.fromkeys(("category", "dc_subject", "webmaster", "dc_publisher", "language", "dc_language",
                     "rights", "copyright", "dc_rights", "subtitle", "tagline", "generator",
                     "creativecommons_license", "cloud", "enclosure", "media_thumbnail", "media_content"), "text"),
    **dict.fromkeys(("author", "dc_creator", "dc_author", "managingeditor"), "author"),
}
_AUTHOR_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
_DATES = {"pubdate": "published", "published": "published", "issued": "published", "dcterms_issued": "published",
          "updated": "updated", "modified": "updated", "lastbuilddate": "updated", "dc_date": "updated",
          "dcterms_modified": "updated"}
# feedparser's image/textinput sub-contexts end early on any other (unprefixed) child element.
_IMAGE_PARTS = frozenset({"title", "link", "description", "url", "href", "width", "height"})
_TEXTINPUT_PARTS = frozenset({"title", "link", "description", "name"})

# Text construct types read as feedparser maps them; other types (xhtml, base64 payloads) fall back.
_TYPES = {"text": "text/plain", "plain": "text/plain", "text/plain": "text/plain", "html": "text/html",
          "text/html": "text/html"}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_LINK_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}

_XMLNS = re.compile(rb"""xmlns(?::([^\s=/>]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_BASE_ATTR = re.compile(rb"""base\s*=""")
_C1 = re.compile("[\x80-\x9f]")
_ENTITY_LIKE = re.compile("&([A-Za-z0-9_]+);")


def _amp(match: re.Match) -> str:
    return "&" + match.group(1)

_local = threading.local()
_KEYS: dict[str, tuple[str, str]] = {}  # lxml tag in a known namespace -> (prefix, feedparser key)


def parse(body: bytes, content_type: str | None) -> tuple[dict, list[dict], bool] | None:
    """(channel, raw entries, is_atom) as feedparser would give them, or None: use feedparser."""
    try:
        return _parse(body, content_type)
    except _Fallback:
        return None


def fallback_reason(body: bytes, content_type: str | None) -> str | None:
    """Why `parse` declines this body (None when it takes it): for tests and measurements."""
    try:
        _parse(body, content_type)
    except _Fallback as exc:
        return str(exc) or "fallback"
    return None


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread, reused.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False,
            recover=False, remove_blank_text=False, strip_cdata=True,
        )
    return parser


def _parse(body: bytes, content_type: str | None) -> tuple[dict, list[dict], bool]:
    # The bytes feedparser's own parser would see: its encoding choice and rewritten declaration.
    # Any reason it would flag (encoding overridden, not an XML media type) is a warning: fall back.
    result: dict = {}
    data = convert_to_utf8({"content-type": content_type} if content_type else {}, body, result)
    if result.get("bozo") or not result.get("encoding"):
        raise _Fallback("encoding: feedparser would warn")
    if _has_base_attribute(data):
        raise _Fallback("xml:base (or a 'base' attribute) present")
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _Fallback(f"not well-formed: {exc}") from None
    if len(parser.error_log):
        raise _Fallback("parser reported a problem")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _Fallback("DOCTYPE")
    namespacemap, declared = _declarations(data)
    walk = _Walk()
    prefix, key = walk.key(root)
    if key == "rss":
        channels = [c for c in root if isinstance(c.tag, str)]
        if len(channels) != 1 or walk.key(channels[0])[1] != "channel":
            raise _Fallback("rss root without exactly one channel")
        walk.container_attrs(channels[0])
        walk.feed_children(channels[0], 3, entry_key="item")
        atom = False
    elif key == "feed" and (root.tag[1:].split("}")[0].lower() if root.tag[0] == "{" else "") == _ATOM_NS:
        if declared & {_RSS10_NS, _NETSCAPE_NS}:
            raise _Fallback("atom feed declaring an RSS namespace (feedparser's version sniffing)")
        walk.feed_children(root, 2, entry_key="entry")
        atom = True
    elif key == "rdf_rdf":
        if _RSS10_NS not in {(u or "").lower() for u in root.nsmap.values()} or declared & {_ATOM_NS, _NETSCAPE_NS}:
            raise _Fallback("RDF without the RSS 1.0 namespace on its root, or with Atom/RSS 0.9 ones")
        walk.rdf_children(root)
        atom = False
    else:
        raise _Fallback(f"root element {key!r}")
    for used in walk.prefixes:
        # feedparser re-maps an element prefix through the document's declarations.
        if namespacemap.get(used, used) != used:
            raise _Fallback(f"prefix {used!r} re-mapped by a declaration")
    return walk.feed, walk.entries, atom


def _has_base_attribute(data: bytes) -> bool:
    """xml:base, base or x:base in any case (feedparser lower-cases attribute names); a superset,
    as text may hold look-alikes."""
    lowered = data.lower()
    if b"base" not in lowered:
        return False
    return any(lowered[m.start() - 1:m.start()] in (b" ", b"\t", b"\n", b"\r", b":") for m in _BASE_ATTR.finditer(lowered))


def _declarations(data: bytes) -> tuple[dict[str, str], set[str]]:
    """Every namespace declaration in the raw document (a superset: text may hold look-alikes):
    feedparser's prefix map (document prefix -> its prefix) and the set of declared URIs."""
    namespacemap: dict[str, str] = {}
    declared: set[str] = set()
    for prefix, dq, sq in _XMLNS.findall(data):
        raw = dq or sq
        if b"&" in raw:
            raise _Fallback("namespace URI with a reference")
        uri = raw.decode("utf-8", "replace").lower()
        declared.add(uri)
        known = _known_prefix(uri)
        if prefix and known is not None:
            name = prefix.decode("utf-8", "replace")
            if namespacemap.setdefault(name, known) != known:
                raise _Fallback(f"prefix {name!r} declared for two namespaces")
    return namespacemap, declared


def _known_prefix(uri_lower: str) -> str | None:
    if "backend.userland.com/rss" in uri_lower:
        return ""
    return _KNOWN_NS.get(uri_lower)


@lru_cache(maxsize=4096)
def _tag_parts(tag: str) -> tuple[str | None, str]:
    """lxml tag -> (feedparser prefix, lower-case local name); prefix None for an unknown namespace."""
    if not tag.isascii():
        raise _Fallback("non-ASCII element name")
    if tag[0] != "{":
        return "", tag.lower()
    uri, local = tag[1:].split("}", 1)
    known = _known_prefix(uri.lower())
    return (known.lower() if known is not None else None), local.lower()


@lru_cache(maxsize=8192)
def _date(text: str):
    return _parse_date(text)


def _fix(text: str) -> str:
    """What feedparser's pop() does to every stripped value: undo UTF-8 read as Latin-1, then map
    C1 controls to their windows-1252 characters. ASCII text is left as is by both steps."""
    if text.isascii():
        return text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    if _C1.search(text):
        text = text.translate(_cp1252)
    return text


def _resolve(uri: str) -> str:
    """feedparser's resolve_uri() with no base: _urljoin('', uri) only collapses the slashes after
    'scheme://', so a URI without ':///' is returned unchanged."""
    return _urljoin("", uri) if ":///" in uri else uri


def _text(el) -> str:
    """An element's character data (comments and PIs skipped, as SAX does); markup falls back."""
    if not len(el):
        return el.text or ""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            raise _Fallback("markup inside a text element")
        parts.append(child.tail or "")
    return "".join(parts)


def _attrs(el) -> dict[str, str]:
    """feedparser's view of an element's attributes: names lower-cased, rel/type values too."""
    attrib = el.attrib
    if not attrib:
        return {}
    out = {}
    for name, value in attrib.items():
        if name[0] == "{":
            if name == _XML_LANG:
                out["xml:lang"] = value
                continue
            raise _Fallback(f"namespaced attribute {name}")
        name = name.lower()
        if name in out:
            raise _Fallback("attribute repeated in another case")
        out[name] = value.lower() if name in ("rel", "type") else value
    return out


def _text_type(attrs: dict[str, str], default: str) -> str:
    if "mode" in attrs or "src" in attrs:
        raise _Fallback("text construct with mode/src")
    kind = attrs.get("type")
    if kind is None:
        return default
    mapped = _TYPES.get(kind)
    if mapped is None:
        raise _Fallback(f"text construct type {kind!r}")
    return mapped


class _Walk:
    """feedparser's state, for the parts that decide parse_feed's fields."""

    def __init__(self) -> None:
        self.feed: dict = {}
        self.entries: list[dict] = []
        self.prefixes: set[str] = set()
        self.title_depth = -1  # feedparser: a title at this depth or deeper is not stored again

    def key(self, el) -> tuple[str, str]:
        found = _KEYS.get(el.tag)
        if found is None:
            prefix, local = _tag_parts(el.tag)
            if prefix is None:  # unknown namespace: feedparser uses the document's own prefix
                prefix = (el.prefix or "").lower()
                found = (prefix, f"{prefix}_{local}" if prefix else local)
            else:
                found = (prefix, f"{prefix}_{local}" if prefix else local)
                if len(_KEYS) < 10_000:  # bounded: a hostile feed may invent any number of names
                    _KEYS[el.tag] = found
        if found[0]:
            self.prefixes.add(found[0])
        return found

    # -- containers ---------------------------------------------------------------------------

    def container_attrs(self, el) -> None:
        for name in el.attrib:
            if name not in (_RDF_ABOUT, _XML_LANG):
                raise _Fallback(f"attribute {name} on a channel or item")  # cdf href/lastmod

    def rdf_children(self, root) -> None:
        """RSS 1.0: channel, items, image and textinput are children of rdf:RDF."""
        channels = 0
        for child in root:
            if not isinstance(child.tag, str):
                continue
            prefix, key = self.key(child)
            if key == "channel":
                channels += 1
                if channels > 1:
                    raise _Fallback("two channels")
                self.container_attrs(child)
                self.feed_children(child, 3, entry_key=None)
            elif key == "item":
                self.entry(child, 2)
            elif key == "image":
                self.restricted(child, 2, _IMAGE_PARTS)
            elif key == "textinput":
                self.restricted(child, 2, _TEXTINPUT_PARTS)
            else:
                raise _Fallback(f"RDF child {key!r}")

    def feed_children(self, container, depth: int, entry_key: str | None) -> None:
        """The children (at `depth`) of a channel or an Atom feed element."""
        feed = self.feed
        for child in container:
            if not isinstance(child.tag, str):
                continue
            prefix, key = self.key(child)
            if key == entry_key:
                self.entry(child, depth)
            elif key in ("title", "dc_title"):
                self.title(child, feed, depth)
            elif key == "link":
                self.link(child, feed, in_entry=False)
            elif key in ("id", "guid"):
                self.guid(child, feed)
            elif key in ("image", "textinput"):
                self.restricted(child, depth, _IMAGE_PARTS if key == "image" else _TEXTINPUT_PARTS)
            elif key in _DATES:
                _date(_fix(_text(child).strip()))  # feedparser parses it too (and may raise)
            elif key in ("description", "dc_description"):
                _text_type(_attrs(child), "text/html")
                _text(child)
            else:
                self.inert(child, key)

    def restricted(self, el, depth: int, parts: frozenset) -> None:
        """A channel image or textinput: its own sub-context in feedparser, which it leaves on any
        other child element. Its title still moves feedparser's title depth."""
        self.title_depth = -1
        for child in el:
            if not isinstance(child.tag, str):
                continue
            prefix, key = self.key(child)
            if prefix or key not in parts:
                raise _Fallback(f"{key!r} inside an image/textinput")
            text = _text(child)
            if key == "title":
                _text_type(_attrs(child), "text/plain")
                if text.strip():
                    self.title_depth = depth + 1
            elif key == "link":
                if any(k in ("href", "url", "uri") for k in _attrs(child)):
                    raise _Fallback("image link with an href")

    def inert(self, el, key: str) -> None:
        kind = _INERT.get(key)
        if kind == "text":
            _text(el)
        elif kind == "author":
            for child in el:
                if isinstance(child.tag, str):
                    prefix, part = self.key(child)
                    if not prefix and part in _AUTHOR_PARTS:
                        _text(child)
                    elif part in _HANDLED or part in _COLLIDING:
                        raise _Fallback(f"{part!r} inside an author")
                    else:  # no handler (Blogger's gd:image): as anywhere else
                        self.inert(child, part)
        elif key in _HANDLED or key in _COLLIDING:
            raise _Fallback(f"element {key!r}")
        else:  # no handler: feedparser keeps its text under its own name; children must be inert too
            for child in el:
                if isinstance(child.tag, str):
                    self.inert(child, self.key(child)[1])

    # -- entries ------------------------------------------------------------------------------

    def entry(self, item, depth: int) -> None:
        entry: dict = {}
        for name, value in item.attrib.items():
            if name == _RDF_ABOUT:
                self.prefixes.add("rdf")
                if value:
                    entry["id"] = value
            elif name != _XML_LANG:
                raise _Fallback(f"attribute {name} on an item")
        self.title_depth = -1
        has_content = False
        depth += 1
        for child in item:
            if not isinstance(child.tag, str):
                continue
            prefix, key = self.key(child)
            if key in ("title", "dc_title"):
                self.title(child, entry, depth, detail=True)
            elif key == "link":
                self.link(child, entry, in_entry=True)
            elif key in ("guid", "id"):
                self.guid(child, entry)
            elif key in ("description", "dc_description", "summary"):
                # A second summary without content becomes content in feedparser: fall back.
                if "summary" in entry and not has_content:
                    raise _Fallback("second summary/description")
                kind = _text_type(_attrs(child), "text/plain" if key == "summary" else "text/html")
                entry["summary"] = _fix(_text(child).strip())
                entry["summary_detail"] = {"type": kind}
            elif key in ("content", "content_encoded", "fullitem"):
                attrs = _attrs(child)
                if key == "content":
                    kind = _text_type(attrs, "text/plain")
                elif attrs.keys() - {"xml:lang"}:
                    raise _Fallback("attributes on content:encoded")
                else:
                    kind = "text/html"
                has_content = True
                value = _fix(_text(child).strip())
                entry.setdefault("content", []).append({"type": kind, "value": value})
                entry.setdefault("summary", value)  # feedparser copies content to a missing summary
            elif key == "source" and not len(child):
                # RSS <source url>name</source>: feedparser files it away, but it also forgets
                # the entry's title depth, so a later title is stored again.
                _text(child)
                self.title_depth = -1
            elif key in _DATES:
                field = _DATES[key]
                value = _fix(_text(child).strip())
                entry[field] = value
                entry[f"{field}_parsed"] = _date(value)
            else:
                self.inert(child, key)
        # FeedParserDict answers "updated" with "published" when an entry has no updated date.
        if "updated" not in entry and "published" in entry:
            entry["updated"] = entry["published"]
        if "updated_parsed" not in entry and "published_parsed" in entry:
            entry["updated_parsed"] = entry["published_parsed"]
        self.entries.append(entry)

    # -- shared element handlers --------------------------------------------------------------

    def title(self, el, context: dict, depth: int, detail: bool = False) -> None:
        """feedparser: the first non-empty title at the shallowest depth wins."""
        kind = _text_type(_attrs(el), "text/plain")
        value = _fix(_text(el).strip())
        if not (-1 < self.title_depth <= depth):
            context["title"] = value
            if detail:
                context["title_detail"] = {"type": kind}
        if value:
            self.title_depth = depth

    def link(self, el, context: dict, in_entry: bool) -> None:
        attrs = _attrs(el)
        if "url" in attrs or "uri" in attrs:
            raise _Fallback("link with url/uri attribute")
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        context.setdefault("links", []).append(attrs)
        text = _text(el)  # also: no child element (feedparser would read a title inside it)
        if "href" in attrs:
            href = attrs["href"] = _resolve(attrs["href"])
            if attrs["rel"] == "alternate" and _LINK_TYPES.get(attrs["type"], attrs["type"]) in _HTML_TYPES:
                context["link"] = href
            return
        value = _fix(_resolve(text.strip()))
        if "&" in value:  # feedparser's fix-up of query strings it took for entity references
            value = value.replace("&amp;", "&") if in_entry else value
            value = _ENTITY_LIKE.sub(_amp, value)
        if in_entry:
            context["link"] = value
            if value:
                attrs["href"] = value
        else:
            context["link"] = attrs["href"] = value

    def guid(self, el, context: dict) -> None:
        is_link = _attrs(el).get("ispermalink", "true") == "true"
        value = _text(el).strip()
        if is_link:
            value = _resolve(value)
        value = _fix(value)
        context["id"] = value
        if is_link:
            context.setdefault("link", value)  # a permalink guid is the link when there is none yet
