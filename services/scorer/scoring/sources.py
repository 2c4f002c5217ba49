"""Source-type classification (reference §2.6) and the Shannon entropy of its counts.

The counts dict is built in the reference's insertion order (its `Counter` order), so the entropy sum runs in
the same order and gives the same float.
"""

from __future__ import annotations

import math
import re
from typing import Final

from services.scorer.scoring.lexicons import (
    LAB_NOTEBOOK_SUBSTRINGS,
    PATENT_NUMBER_PATTERN,
    PATENT_OFFICE_CODES,
    SOURCE_TYPE_METADATA_RULES,
    SOURCE_TYPE_ORDER,
    SOURCE_TYPE_WORD_CUES,
)
from services.scorer.scoring.terms import BoundedTerms, LeftBounded
from services.scorer.scoring.textview import TextView

CUES: Final = BoundedTerms(cue for cues in SOURCE_TYPE_WORD_CUES.values() for cue in cues)
_CUE_CATEGORY: Final = {cue: category for category, cues in SOURCE_TYPE_WORD_CUES.items() for cue in cues}
_PATENT_NUMBER: Final = re.compile(PATENT_NUMBER_PATTERN)
# One literal-prefix search per code, for when the code is a token of the text ("us 3,456").
_PATENT_CODE_NUMBER: Final = {code: LeftBounded(code + r"\s*\d") for code in PATENT_OFFICE_CODES}
# Every token the classification needs among a TextView's hits.
VOCABULARY: Final = CUES.vocabulary | frozenset(PATENT_OFFICE_CODES)
# Categories after patent and lab_notebook, in insertion order.
_WORD_CATEGORIES: Final = SOURCE_TYPE_ORDER[2:]


def classify_source_types(view: TextView, source_type: str | None) -> dict[str, int]:
    """Counts per source-type category that fired, text rules first, then the metadata `source_type` rule."""
    categories = {_CUE_CATEGORY[cue] for cue in CUES.present(view)}
    counts: dict[str, int] = {}
    patent = 1 if "patent" in categories else 0
    if _has_patent_number(view):
        patent += 1
    if patent:
        counts["patent"] = patent
    lower = view.lower
    if any(needle in lower for needle in LAB_NOTEBOOK_SUBSTRINGS):
        counts["lab_notebook"] = 1
    if categories:
        for category in _WORD_CATEGORIES:
            if category in categories:
                counts[category] = 1
    if source_type is not None:
        _apply_source_type(counts, source_type.lower())
    return counts


def _has_patent_number(view: TextView) -> bool:
    """Whether PATENT_NUMBER_PATTERN matches, without scanning the whole text with it in the usual case."""
    for code in view.hits.intersection(PATENT_OFFICE_CODES):
        if _PATENT_CODE_NUMBER[code].count(view.lower, limit=1):
            return True
    # Any other match has a code's letter right before a digit ("us3456").
    return b"a0" in view.shape and _PATENT_NUMBER.search(view.lower) is not None


def _apply_source_type(counts: dict[str, int], source_type: str) -> None:
    for needles, category, weight in SOURCE_TYPE_METADATA_RULES:
        if any(needle in source_type for needle in needles):
            counts[category] = counts.get(category, 0) + weight
            return


def shannon_entropy(counts: dict[str, int]) -> float:
    """H = -Σ p log2 p over the counts (0 for no counts)."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    entropy = 0.0
    for count in counts.values():
        if count > 0:
            p = count / total
            entropy -= p * math.log2(p)
    return entropy
