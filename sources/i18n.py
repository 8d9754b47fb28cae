"""The one home of what readers see in Japanese and English: `sources/strings.toml` (in `sources`,
the base every stage may read: the Japanese fact line is made when an item is classified)."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

LANGUAGES = ("ja", "en")


@lru_cache(maxsize=1)
def _all() -> dict[str, dict]:
    text = resources.files("spacedigest.sources").joinpath("strings.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    missing = set(table["ja"]) ^ set(table["en"])
    if missing:  # a string in one language only would show as a KeyError to some readers
        raise ValueError(f"sources/strings.toml: keys not in both languages: {', '.join(sorted(missing))}")
    return table


def strings(lang: str) -> dict:
    """Every string of `lang` (unknown languages read English)."""
    table = _all()
    return table.get(lang, table["en"])


def category_label(category: str, lang: str) -> str:
    labels = strings(lang)["categories"]
    return labels.get(category, labels["other"])


def section_title(key: str, lang: str) -> str:
    return strings(lang)["sections"][key]


# Category names and their labels, per language (for code that lists them).
CATEGORY_LABELS: dict[str, dict[str, str]] = {lang: strings(lang)["categories"] for lang in LANGUAGES}
