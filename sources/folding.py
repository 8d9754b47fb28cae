"""Text folded for matching rules: NFKC, lower-case, accents removed, one character per
character, so offsets in the folded text are offsets in the NFKC text (dates are found in one and
cues in the other). Shared by the classifier and the eligibility rules."""
from __future__ import annotations

import unicodedata
from functools import lru_cache

_PUNCT_MAP = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2010": "-", "\u2011": "-", "\u2012": "-",
                            "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u301c": "~", "\uff5e": "~"})


@lru_cache(maxsize=64)
def nfkc(text: str) -> str:
    # cached, like the folds below: one enrich reads the same text for several questions
    return unicodedata.normalize("NFKC", text or "")


def _latin_base(ch: str) -> str:
    """"é" -> "e"; other scripts untouched (stripping marks from "で" would make it "て")."""
    if ch < "\u00c0" or ch > "\u024f":
        return ch
    return "".join(c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn")


def _folding_tables() -> tuple[dict[int, str], dict[int, str]]:
    """Per-character tables for str.translate (fast): fold = lower-case and accent-free,
    strip = accent-free only; both keep one character per character."""
    fold, strip = {}, {}
    for cp in range(0x41, 0x10000):
        ch = chr(cp)
        base = _latin_base(ch)
        lowered = base.lower()
        folded = lowered if len(lowered) == 1 else (ch.lower() if len(ch.lower()) == 1 else ch)
        if folded != ch:
            fold[cp] = folded
        if len(base) == 1 and base != ch:
            strip[cp] = base
    return fold, strip


_FOLD_TABLE, _STRIP_TABLE = _folding_tables()


@lru_cache(maxsize=64)
def fold_same_length(nfkc_text: str) -> str:
    """Lower-case, accent-free, one character per character, so offsets match `find_dates`."""
    return nfkc_text.translate(_PUNCT_MAP).translate(_FOLD_TABLE)


def strip_accents_same_length(nfkc_text: str) -> str:
    """Accents off, case kept: `find_dates` knows "fevrier" but not "février"."""
    return nfkc_text.translate(_STRIP_TABLE)


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case, accent-free NFKC text, one character per character of the NFKC text (cached:
    one enrich folds the same title and text for several questions)."""
    return fold_same_length(nfkc(text))


