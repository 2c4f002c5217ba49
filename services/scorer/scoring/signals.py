"""Lexicon signals whose matching differs by profile.

Institutional markers, consensus phrases and primary-source markers (reference §2.1, distrust-method.md §5).

`reference` matches institutional markers as substrings and counts every consensus occurrence, overlaps
included; `strict` matches institutional markers word-bounded with plurals and counts overlapping consensus
phrases once. Primary markers are word-bounded in both; `strict` adds plural forms.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple, Protocol

from services.scorer.scoring.lexicons import (
    CONSENSUS_PHRASES,
    INSTITUTIONAL_CAP,
    INSTITUTIONAL_MARKERS,
    INSTITUTIONAL_METADATA_FIELDS,
)
from services.scorer.scoring.terms import BoundedTerms
from services.scorer.scoring.textview import TextView

# Highest score first, so the first marker found in this order is the maximum.
_BY_SCORE: Final = tuple(sorted(INSTITUTIONAL_MARKERS.items(), key=lambda item: -item[1]))


class Institution(NamedTuple):
    """The institutional score, the lexicon marker that gave it and where it was found (None when none)."""

    score: float
    marker: str | None
    field: str | None


NO_INSTITUTION: Final = Institution(0.0, None, None)


class InstitutionalMatcher(Protocol):
    """A profile's way of finding institutional markers, with the words it looks for."""

    vocabulary: frozenset[str]

    def best(self, view: TextView, metadata: Mapping[str, Any] | None) -> Institution:
        """The highest-scoring marker in the text, then in the metadata `source`, `url`, `publisher`."""
        ...


class _InstitutionalBase(ABC):
    """Maximum over the text and the metadata fields; a tie keeps the earlier place (the text first)."""

    def best(self, view: TextView, metadata: Mapping[str, Any] | None) -> Institution:
        found = self._in_view(view, "text")
        if metadata and found.score < INSTITUTIONAL_CAP:
            for field in INSTITUTIONAL_METADATA_FIELDS:
                value = metadata.get(field)
                if isinstance(value, str) and value:
                    candidate = self._in_value(value, field)
                    if candidate.score > found.score:
                        found = candidate
        if found.score > INSTITUTIONAL_CAP:
            return Institution(INSTITUTIONAL_CAP, found.marker, found.field)
        return found

    @abstractmethod
    def _in_view(self, view: TextView, field: str) -> Institution: ...

    @abstractmethod
    def _in_value(self, value: str, field: str) -> Institution: ...


class SubstringInstitutional(_InstitutionalBase):
    """reference: plain substring tests, so "who" fires inside "whole" and "nature" inside "signature"."""

    vocabulary: frozenset[str] = frozenset()

    def _in_view(self, view: TextView, field: str) -> Institution:
        return self._in_lower(view.lower, field)

    def _in_value(self, value: str, field: str) -> Institution:
        return self._in_lower(value.lower(), field)

    @staticmethod
    def _in_lower(lower: str, field: str) -> Institution:
        for marker, score in _BY_SCORE:
            if marker in lower:
                return Institution(score, marker, field)
        return NO_INSTITUTION


class BoundedInstitutional(_InstitutionalBase):
    """strict: word-bounded markers, each also matching its plurals ("officials" counts as "official")."""

    def __init__(self, plurals: Mapping[str, Iterable[str]]) -> None:
        self._canonical = {marker: marker for marker in INSTITUTIONAL_MARKERS}
        for marker, forms in plurals.items():
            self._canonical.update(dict.fromkeys(forms, marker))
        self._terms = BoundedTerms(self._canonical)
        self.vocabulary = self._terms.vocabulary
        self._rank = {marker: rank for rank, (marker, _) in enumerate(_BY_SCORE)}

    def _in_view(self, view: TextView, field: str) -> Institution:
        found = self._terms.present(view)
        if not found:
            return NO_INSTITUTION
        marker = min((self._canonical[form] for form in found), key=self._rank.__getitem__)
        return Institution(INSTITUTIONAL_MARKERS[marker], marker, field)

    def _in_value(self, value: str, field: str) -> Institution:
        return self._in_view(TextView(value, self.vocabulary), field)


def count_consensus(lower: str) -> int:
    """reference: occurrences of each phrase (non-overlapping per phrase, as findall), summed over phrases."""
    return sum(lower.count(phrase) for phrase in CONSENSUS_PHRASES)


def count_consensus_merged(lower: str) -> int:
    """strict: phrase occurrences that overlap ("well-established fact") count once."""
    total = count_consensus(lower)
    if total < 2:
        return total
    spans: list[tuple[int, int]] = []
    for phrase in CONSENSUS_PHRASES:
        start = lower.find(phrase)
        while start >= 0:
            spans.append((start, start + len(phrase)))
            start = lower.find(phrase, start + 1)
    spans.sort()
    clusters = 0
    end = -1
    for start, stop in spans:
        if start >= end:
            clusters += 1
        end = max(end, stop)
    return clusters


def count_primary(terms: BoundedTerms, view: TextView) -> int:
    """Word-bounded primary-source marker occurrences, every occurrence counted."""
    return sum(terms.counts(view).values())
