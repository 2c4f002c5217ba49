"""The two scoring profiles (distrust-method.md §5): same formulas, different matching.

| | reference | strict (default) |
|---|---|---|
| institutional markers | substring ("whole" fires "who") | word-bounded, plurals ("officials") |
| primary-source markers | word-bounded, singular only | word-bounded, plurals ("letters") |
| consensus phrases | every occurrence, overlaps each count | overlapping occurrences count once |
| no year: entropy base | 1.5 (treated as modern) | 3.5 (unknown) |

Citations, years, source-type cues and all formulas are the same in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from services.scorer.scoring.formulas import ENTROPY_BASE_MID, ENTROPY_BASE_MODERN
from services.scorer.scoring.lexicons import (
    INSTITUTIONAL_PLURALS,
    PRIMARY_SOURCE_MARKERS,
    PRIMARY_SOURCE_PLURALS,
)
from services.scorer.scoring.signals import (
    BoundedInstitutional,
    InstitutionalMatcher,
    SubstringInstitutional,
    count_consensus,
    count_consensus_merged,
)
from services.scorer.scoring.sources import VOCABULARY as SOURCE_TYPE_VOCABULARY
from services.scorer.scoring.terms import BoundedTerms
from shared.errors import InvalidArgument

STRICT: Final = "strict"
REFERENCE: Final = "reference"
PROFILES: Final[tuple[str, ...]] = (STRICT, REFERENCE)
DEFAULT_PROFILE: Final = STRICT


@dataclass(frozen=True, slots=True)
class Profile:
    """How one profile matches each lexicon; `vocabulary` is every token any of its word matchers needs."""

    name: str
    institutional: InstitutionalMatcher
    primary: BoundedTerms
    count_consensus: Callable[[str], int]
    unknown_year_entropy_base: float
    vocabulary: frozenset[str]


def _profile(
    name: str,
    institutional: InstitutionalMatcher,
    primary: BoundedTerms,
    count: Callable[[str], int],
    unknown_base: float,
) -> Profile:
    vocabulary = institutional.vocabulary | primary.vocabulary | SOURCE_TYPE_VOCABULARY
    return Profile(name, institutional, primary, count, unknown_base, vocabulary)


def _primary_terms(plurals: dict[str, tuple[str, ...]]) -> BoundedTerms:
    forms = [*PRIMARY_SOURCE_MARKERS]
    for marker in PRIMARY_SOURCE_MARKERS:
        forms.extend(plurals.get(marker, ()))
    return BoundedTerms(forms)


_REGISTRY: Final = {
    REFERENCE: _profile(REFERENCE, SubstringInstitutional(), _primary_terms({}), count_consensus, ENTROPY_BASE_MODERN),
    STRICT: _profile(
        STRICT,
        BoundedInstitutional(INSTITUTIONAL_PLURALS),
        _primary_terms(PRIMARY_SOURCE_PLURALS),
        count_consensus_merged,
        ENTROPY_BASE_MID,
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called `name`; an unknown name is an InvalidArgument on `profile` naming the allowed."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        allowed = ", ".join(repr(p) for p in PROFILES)
        raise InvalidArgument(f"profile: got {name!r}, expected one of {allowed}", param="profile") from None
