r"""Word-bounded term matching for a whole lexicon at once.

The counts are those `len(re.findall(r"\bterm\b", lower))` would give.

Single-word terms are looked up among the text's tokens (see `textview.py`). A term with a space, hyphen or
dot is only searched with its own bounded regex when all of its words are among the tokens, which is rare.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Final

from services.scorer.scoring.textview import TextView

_WORD_RUN: Final = re.compile(r"\w+")
_COUNTER_THRESHOLD: Final = 20_000


def is_word_char(ch: str) -> bool:
    r"""What `\w` matches in a str pattern."""
    return ch.isalnum() or ch == "_"


class LeftBounded:
    r"""`\b<pattern>` for a pattern that starts with a word character, matched as `re` would but faster.

    A leading `\b` stops `re` from jumping to the pattern's literal first letters, so the boundary is checked
    by hand on each candidate instead.
    """

    __slots__ = ("_search",)

    def __init__(self, pattern: str) -> None:
        self._search = re.compile(pattern).search

    def count(self, lower: str, limit: int = -1) -> int:
        r"""Non-overlapping matches, as `len(re.findall(r"\b" + pattern, lower))`; stop at `limit`."""
        n = 0
        pos = 0
        while n != limit and (match := self._search(lower, pos)):
            start = match.start()
            if start and is_word_char(lower[start - 1]):
                pos = start + 1
            else:
                n += 1
                pos = match.end()
        return n


class _Phrase:
    """A multi-word term (with a space, hyphen or dot), matched word-bounded."""

    __slots__ = ("term", "parts", "_matcher")

    def __init__(self, term: str) -> None:
        self.term = term
        self.parts = tuple(_WORD_RUN.findall(term))
        body = re.escape(term) + (r"\b" if is_word_char(term[-1]) else "")
        self._matcher: LeftBounded | re.Pattern[str]
        self._matcher = LeftBounded(body) if is_word_char(term[0]) else re.compile(body)

    def count(self, lower: str, limit: int = -1) -> int:
        if isinstance(self._matcher, LeftBounded):
            return self._matcher.count(lower, limit)
        found = len(self._matcher.findall(lower))
        return found if limit < 0 else min(found, limit)


class BoundedTerms:
    """A fixed set of lower-case terms matched word-bounded on a `TextView`."""

    __slots__ = ("_words", "_phrases", "vocabulary")

    def __init__(self, terms: Iterable[str]) -> None:
        words: set[str] = set()
        phrases: dict[str, list[_Phrase]] = {}
        for term in terms:
            if _WORD_RUN.fullmatch(term):
                words.add(term)
            else:
                phrase = _Phrase(term)
                phrases.setdefault(phrase.parts[0], []).append(phrase)
        self._words: frozenset[str] = frozenset(words)
        # Multi-word terms by their first word: only those whose first word is a token are looked at.
        self._phrases = {first: tuple(group) for first, group in phrases.items()}
        phrase_words = frozenset(w for group in phrases.values() for phrase in group for w in phrase.parts)
        # Every token a match needs; a TextView must be built with (a superset of) this vocabulary.
        self.vocabulary: frozenset[str] = self._words | phrase_words

    def _phrase_candidates(self, view: TextView) -> Iterator[_Phrase]:
        hits = view.hits
        lower = view.lower
        for first in self._phrases.keys() & hits:
            for phrase in self._phrases[first]:
                if phrase.term in lower and hits.issuperset(phrase.parts):
                    yield phrase

    def counts(self, view: TextView) -> dict[str, int]:
        """Occurrences of each term found (terms with none are left out)."""
        tokens = view.tokens
        words = self._words.intersection(view.hits)
        if len(words) * len(tokens) > _COUNTER_THRESHOLD:  # long texts: one pass instead of one per word
            tally = Counter(tokens)
            found = {word: tally[word] for word in words}
        else:
            found = {word: tokens.count(word) for word in words}
        for phrase in self._phrase_candidates(view):
            n = phrase.count(view.lower)
            if n:
                found[phrase.term] = n
        return found

    def present(self, view: TextView) -> set[str]:
        """The terms that occur at least once."""
        found = set(self._words.intersection(view.hits))
        for phrase in self._phrase_candidates(view):
            if phrase.count(view.lower, limit=1):
                found.add(phrase.term)
        return found
