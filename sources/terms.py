"""Phrase lists (the rules files' `terms`) as regexes, with a shared one-pass prefilter.

A term is a phrase matched case- and accent-insensitively on folded text (sources.folding), a space
matching any run of spaces or hyphens, a hyphen optional, whole words for Latin script, a trailing
`*` for any ending. Every term's longest literal piece goes into one Aho-Corasick automaton
(`Pieces`), so a text is scanned once for all the rules that share it, and a rule none of whose
pieces the text holds is not run at all.
"""
from __future__ import annotations

import re
from functools import lru_cache

import ahocorasick

from spacedigest.sources.folding import fold


def _term_regex(term: str) -> tuple[str, str]:
    """A rules-file phrase as a regex: accent/case-insensitive, flexible spaces and hyphens,
    whole words for Latin script, a trailing `*` for any word ending ("grant*").

    Split as (its first character, the regex for the rest), so that `_compile` can group terms by
    their first character; ("", the whole regex) when it does not start with a plain character."""
    folded = fold(term.strip())
    prefix = folded.endswith("*")
    folded = folded.rstrip("*")
    parts = []
    for ch in folded:
        if ch == " ":
            parts.append(r"[\s\-]+")
        elif ch == "-":
            parts.append(r"[\s\-]?")
        else:
            parts.append(re.escape(ch))
    first = folded[:1] if folded[:1] not in ("", " ", "-") else ""
    if first:
        parts = parts[1:]
    if first.isascii() and first.isalnum():
        # "no letter before the word", checked after its first letter ("g(?<![a-z0-9]g)rant" =
        # "(?<![a-z0-9])grant"): a pattern that starts with a literal lets `re` skip every position
        # not holding that letter, a leading lookbehind makes it try all alternatives everywhere.
        parts.insert(0, rf"(?<![a-z0-9]{first})")
    body = "".join(parts)
    if prefix:
        body += r"[a-z]*"
    if folded[-1:].isascii() and folded[-1:].isalnum():
        body += r"(?![a-z0-9])"
    return first, body


def _alternation(terms: list[str]) -> list[str]:
    """The terms as alternatives, one per first character ("g(?:rant|oal)"), terms in file order
    within each. The same matches as the plain alternation: at a position only the terms starting
    with the character there can match, and among them the first listed still wins. `re` tries
    alternatives one by one at every position: this makes ~50 tries a handful."""
    split = [_term_regex(t) for t in terms]
    if any(not first for first, _ in split):  # a term with no plain first character: keep the order
        return [re.escape(first) + rest for first, rest in split]
    groups: dict[str, list[str]] = {}
    for first, rest in split:
        groups.setdefault(first, []).append(rest)
    return [re.escape(first) + (rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")")
            for first, rests in groups.items()]


class Pieces:
    """Which of a rules file's literal pieces a text holds, found in one pass (Aho-Corasick, in C)
    instead of one `piece in text` scan per piece: there are ~500 pieces and every rule asks about
    the same few texts (title, body, both), so this is shared by all rules and remembers its answer."""

    def __init__(self):
        self._automaton = ahocorasick.Automaton()
        self.present = lru_cache(maxsize=16)(self._scan)

    def add(self, piece: str) -> None:
        self._automaton.add_word(piece, piece)

    def build(self) -> None:
        if len(self._automaton):
            self._automaton.make_automaton()

    def _scan(self, text: str) -> frozenset[str]:
        if not len(self._automaton):
            return frozenset()
        return frozenset(piece for _, piece in self._automaton.iter(text))


class Terms:
    """A compiled alternation of rule terms (and raw patterns, after them) with a cheap prefilter:
    every match of a term contains its longest literal piece, so in a text holding none of the
    pieces no term can match anywhere, and the alternation finds exactly what its patterns alone
    find (nothing when there are none). Most rules match most texts not at all."""

    __slots__ = ("regex", "patterns_only", "literals", "pieces")

    def __init__(self, regex: re.Pattern, patterns_only: re.Pattern | None, literals: frozenset[str] | None,
                 pieces: Pieces):
        self.regex = regex
        self.patterns_only = patterns_only
        self.literals = literals  # None: no prefilter, always run the whole regex
        self.pieces = pieces

    def _regex_for(self, text: str) -> re.Pattern | None:
        if self.literals is None or not self.literals.isdisjoint(self.pieces.present(text)):
            return self.regex
        return self.patterns_only

    def finditer(self, text: str):
        regex = self._regex_for(text)
        return regex.finditer(text) if regex else iter(())

    def search(self, text: str):
        regex = self._regex_for(text)
        return regex.search(text) if regex else None


def _longest_piece(term: str) -> str:
    folded = fold(term.strip()).rstrip("*")
    return max(re.split(r"[\s\-]+", folded), key=len)


def compile_terms(pieces: Pieces, terms: list[str], patterns: list[str] | None = None) -> Terms:
    """The terms and patterns as one regex; their literal pieces go into `pieces` (built later)."""
    # Terms hold no "|" and go in bare: when every alternative starts with a literal, `re` scans
    # for those first characters in C (a group around each alternative hides them).
    wrapped = [f"(?:{p})" for p in patterns or []]
    alternatives = _alternation(terms) + wrapped
    if not alternatives:
        return Terms(re.compile(r"(?!x)x"), None, frozenset(), pieces)  # matches nothing
    literals = frozenset(_longest_piece(t) for t in terms)
    if "" in literals:
        literals = None
    for piece in literals or ():
        pieces.add(piece)
    return Terms(re.compile("|".join(alternatives)), re.compile("|".join(wrapped)) if wrapped else None,
                  literals, pieces)


