"""The score formulas (reference §2.4, §2.5, §2.7), shared by both profiles.

Each term is computed with the reference's exact operations and order, so the floats match bit for bit.
"""

from __future__ import annotations

import math
from typing import Final

AUTHORITY_BASE: Final = 0.3
AUTHORITY_MAX: Final = 0.99
HYBRID_PRIOR_SHARE: Final = 0.7
HYBRID_DYNAMIC_SHARE: Final = 0.3
PRE_MODERN_YEAR: Final = 1970  # before: "pre"
MODERN_YEAR: Final = 1995  # from: "modern"; in between: "mid"
ENTROPY_BASE_PRE: Final = 5.5
ENTROPY_BASE_MID: Final = 3.5
ENTROPY_BASE_MODERN: Final = 1.5


def citation_score(citation_count: int) -> float:
    """C = min(0.25, 0.05·log10(n + 1))."""
    return min(0.25, math.log10(citation_count + 1) * 0.05)


def consensus_score(consensus_count: int) -> float:
    """K = min(0.20, 0.10·n)."""
    return min(0.20, consensus_count * 0.10)


def age_adjustment(year: int | None) -> float:
    """G = −0.15 before 1970, +0.15 from 1995, else 0 (no year included: the reference tests truthiness)."""
    if year:
        if year < PRE_MODERN_YEAR:
            return -0.15
        if year >= MODERN_YEAR:
            return 0.15
    return 0.0


def primary_adjustment(primary_count: int) -> float:
    """P = −min(0.45, 0.15·n)."""
    return min(0.45, primary_count * 0.15) * -1


def authority_weight(citation: float, institutional: float, consensus: float, age: float, primary: float) -> float:
    """clamp(0.3 + C + I + K + G + P, 0, 0.99), summed in the reference's order."""
    raw = citation + institutional + consensus + age + primary
    return max(0.0, min(AUTHORITY_MAX, raw + AUTHORITY_BASE))


def base_entropy(year: int | None, unknown: float) -> float:
    """B = 5.5 before 1970, 3.5 before 1995, 1.5 after; `unknown` when there is no year."""
    if not year:
        return unknown
    if year < PRE_MODERN_YEAR:
        return ENTROPY_BASE_PRE
    if year < MODERN_YEAR:
        return ENTROPY_BASE_MID
    return ENTROPY_BASE_MODERN


def primary_bonus(primary_count: int) -> float:
    """Pb = min(2.0, 0.5·n)."""
    return min(2.0, primary_count * 0.5)


def variety_bonus(variety_count: int) -> float:
    """Vb = min(1.5, 0.3·V)."""
    return min(1.5, variety_count * 0.3)


def institutional_penalty(institutional: float) -> float:
    """Ip = −1.5·I."""
    return institutional * -1.5


def consensus_penalty(consensus_count: int) -> float:
    """Kp = −min(1.0, 0.4·n)."""
    return min(1.0, consensus_count * 0.4) * -1


def provenance_entropy(
    base: float, distribution: float, primary: float, variety: float, institutional: float, consensus: float
) -> float:
    """max(0, B + Hs + Pb + Vb + Ip + Kp), summed in the reference's order."""
    return max(0.0, base + distribution + primary + variety + institutional + consensus)


def blend(prior: float, dynamic: float) -> float:
    """The hybrid: 0.7·prior + 0.3·dynamic."""
    return HYBRID_PRIOR_SHARE * prior + HYBRID_DYNAMIC_SHARE * dynamic
