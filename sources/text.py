"""Text from outside, made safe to show: the one home of text cleaning.

- `plain_text`: markup (a feed's summary, a page's fragment) reduced to readable text, capped;
- `one_line`: one line of safe text for a header, a name, a title in a layout: control, format
  (bidi overrides, zero-width), separator, private-use and unassigned characters become spaces;
- `truncate`: a cut at a word boundary with "…" (text without spaces, such as Japanese, is cut hard).
"""
from __future__ import annotations

import re
import unicodedata

import lxml.html
from lxml import etree

# Elements whose content is never text a reader should see.
_SKIPPED_ELEMENTS = ("script", "style", "noscript", "template", "head", "iframe", "object", "svg", "math")
# Elements that separate words when rendered; their boundaries become spaces.
_BREAKING_ELEMENTS = (
    "br", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "td", "th", "table", "h1", "h2", "h3",
    "h4", "h5", "h6", "blockquote", "pre", "hr", "section", "article", "header", "footer", "figure",
    "figcaption", "img", "address", "aside", "nav", "main", "details", "summary", "option",
)
# C0/C1 controls (whitespace among them is collapsed separately), lone surrogates, bidi overrides
# (used to disguise text), zero-width and BOM characters.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_HTML_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True)


def strip_invisible(text: str) -> str:
    """`text` without control, bidi-override, zero-width and BOM characters (newlines kept)."""
    return _INVISIBLE.sub("", text)


def plain_text(html_or_text: str | None, *, max_chars: int | None = None) -> str:
    """Readable plain text: markup stripped (script/style dropped), entities decoded, control
    characters removed, whitespace collapsed; with `max_chars`, cut at a word boundary with "…"."""
    if not html_or_text:
        return ""
    text = _INVISIBLE.sub("", html_or_text)
    if "<" in text or "&" in text:
        text = _html_to_text(text)
        text = _INVISIBLE.sub("", text)  # entities may have decoded to controls (&#1; ...)
    text = " ".join(text.split())
    if max_chars is not None and len(text) > max_chars:
        text = truncate(text, max_chars)
    return text


def _html_to_text(markup: str) -> str:
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div", parser=_HTML_PARSER)
    except (etree.ParserError, ValueError):
        return markup
    for element in list(root.iter(*_SKIPPED_ELEMENTS)):
        element.drop_tree()
    for element in root.iter(*_BREAKING_ELEMENTS):
        element.tail = " " + (element.tail or "")
        if element.text:
            element.text = " " + element.text
    return root.text_content()


def truncate(text: str, max_chars: int) -> str:
    """At most `max_chars` characters, cut at the last word boundary when there is one nearby."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return "…"[:max_chars]
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    # Cut inside a word: back up to the last space, unless that loses too much
    # (text without spaces, such as Japanese, is cut hard).
    if not text[max_chars - 1].isspace() and space >= max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"



# Control, format (bidi overrides, zero-width), line/paragraph separators, surrogates, private-use
# and unassigned characters: none belongs in one line of text, several can inject or spoof.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def one_line(text: str | None, max_length: int | None = None) -> str:
    """One line of safe text: unsafe characters become spaces, whitespace collapses, NFC; with
    `max_length`, cut there."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    if not text.isascii() or any(c < " " or c == "\x7f" for c in text):
        text = "".join(" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)
    text = " ".join(text.split())
    return text[:max_length].rstrip() if max_length is not None else text
