"""Theme tags in Japanese (地球観測, 衛星通信, 測位, ...) from the bilingual glossary `themes.toml`. Pure."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from spacedigest.sources.folding import fold
from spacedigest.sources.terms import Pieces, Terms, compile_terms

DEFAULT_GLOSSARY = Path(__file__).with_name("themes.toml")
MAX_THEMES = 3
TITLE_WEIGHT = 2


@dataclass(frozen=True)
class Theme:
    tag: str
    terms: Terms


@lru_cache(maxsize=4)
def load_glossary(path: str | None = None) -> tuple[Theme, ...]:
    with open(path or DEFAULT_GLOSSARY, "rb") as fh:
        data = tomllib.load(fh)
    pieces = Pieces()  # one scan of a text tells which themes can match at all
    glossary = tuple(Theme(t["tag"], compile_terms(pieces, t["terms"])) for t in data["theme"])
    pieces.build()
    return glossary


def themes_of(title: str, text: str, glossary: tuple[Theme, ...] | None = None) -> tuple[str, ...]:
    """The themes the item speaks of most, in that order (glossary order breaks ties), three at most."""
    glossary = glossary or load_glossary()
    title_f, text_f = fold(title or ""), fold(text or "")
    scores = []
    for order, theme in enumerate(glossary):
        score = TITLE_WEIGHT * sum(1 for _ in theme.terms.finditer(title_f)) + sum(1 for _ in theme.terms.finditer(text_f))
        if score:
            scores.append((-score, order, theme.tag))
    return tuple(tag for _, _, tag in sorted(scores)[:MAX_THEMES])
