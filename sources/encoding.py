"""The encoding of a page or feed that declares none, found on its bytes (charset-normalizer).

Parsers follow a declaration (HTTP `charset`, `<?xml encoding?>`, `<meta charset>`, a BOM) and
otherwise assume UTF-8 — XML by rule, feedparser then windows-1252, Beautiful Soup whatever its
guess is. Japanese sites that declare nothing are still common (Shift_JIS and EUC-JP pages from
the era of hand-made sites), and read as UTF-8 or windows-1252 they become mojibake. So when a
body declares nothing and is not UTF-8, its encoding is detected on the bytes. This project reads
Japanese and European sites: among equally clean candidates, Japanese encodings win over the
Chinese and Korean ones a detector finds just as plausible on a short text, and windows-1252 (what
browsers assume for an undeclared Western page) over Baltic or DOS code pages.

Pure functions.
"""
from __future__ import annotations

import codecs
import re

# What a declaration looks like where parsers look for one.
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_DECLARED = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=", re.IGNORECASE)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
# Where a declaration must be for parsers to see it (the HTML standard: the first 1024 bytes).
_HEAD_BYTES = 4096
# Enough text to tell encodings apart; detection on more only costs time.
_SAMPLE_BYTES = 256 * 1024
# Candidates charset-normalizer finds as clean as the best within this margin count as a tie.
_TIE = 0.05
_JAPANESE = ("cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004", "euc_jisx0213",
             "iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext")


def declared(body: bytes, content_type: str | None = None) -> str | None:
    """The encoding the HTTP header declares, "declared" when the document itself declares one or
    starts with a byte-order mark, None when nothing does."""
    if content_type:
        match = _HTTP_CHARSET.search(content_type)
        if match:
            return match.group(1)
    if body.startswith(_BOMS):
        return "declared"
    head = body[:_HEAD_BYTES]
    if _XML_DECLARED.match(head) or _META_CHARSET.search(head):
        return "declared"
    return None


def undeclared_encoding(body: bytes, content_type: str | None = None) -> str | None:
    """The Python codec of a body that declares no encoding and is not UTF-8 (or plain ASCII);
    None when there is nothing to detect (declared, UTF-8, or nothing recognisable)."""
    if not body or declared(body, content_type):
        return None
    if b"\x1b$" not in body:  # ISO-2022-JP is 7-bit: valid UTF-8 but for its escapes
        try:
            body.decode("utf-8")
            return None
        except UnicodeDecodeError:
            pass
    return detect(body)


def detect(body: bytes) -> str | None:
    """The most plausible encoding of `body`, preferring Japanese encodings on a tie."""
    from charset_normalizer import from_bytes

    sample = body[:_SAMPLE_BYTES]
    matches = [m for m in from_bytes(sample) if m.encoding]
    if not matches:
        return None
    best = min(m.chaos for m in matches)
    clean = [m.encoding for m in matches if m.chaos <= best + _TIE]
    preferred = [name for name in clean if codecs.lookup(name).name in _JAPANESE]
    preferred += [name for name in clean if codecs.lookup(name).name == "cp1252"]
    chosen = preferred[0] if preferred else clean[0]
    # cp932 (Windows Shift_JIS) is a superset of shift_jis: ①, ㈱ and NEC/IBM kanji decode too.
    return "cp932" if codecs.lookup(chosen).name in ("shift_jis", "cp932") else codecs.lookup(chosen).name


def to_utf8(body: bytes, content_type: str | None = None) -> bytes:
    """An undeclared non-UTF-8 body re-encoded as UTF-8 (what parsers then assume); any other body
    unchanged. For XML, whose default encoding is UTF-8."""
    encoding = undeclared_encoding(body, content_type)
    if encoding is None:
        return body
    return body.decode(encoding, errors="replace").encode("utf-8")


__all__ = ["declared", "undeclared_encoding", "detect", "to_utf8"]
