"""Provenance-aware ranking: relevance boosted by a prior that favours primary, diverse evidence.

Over the candidates a search returns, both parts are scaled to [0, 1] (min-max; all equal gives 1):

    score = relevance' · (1 + w · prior') / (1 + w)        prior = c(auth_weight, prov_entropy) = ln(1 − w_a + 1e-8) + H

c is the distrust signal of the training loss (shared/distrust.py): high for a low-authority, high-entropy chunk.
w = `ranking_options.distrust` in [0, 1]; 0 is plain relevance. The prior multiplies relevance rather than adding
to it, so it reorders evidence that answers the query and never lifts a chunk that does not: at w = 1 a chunk with
the pool's best prior needs half the relevance of one with the worst to rank level with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.retrieval.index import Hit
from shared.distrust import distrust_value
from shared.errors import invalid_field


@dataclass(frozen=True)
class Ranked:
    """A hit with its prior (c), and its blended score."""

    hit: Hit
    prior: float
    score: float


def _scaled(values: Sequence[float]) -> list[float]:
    low, high = min(values), max(values)
    return [1.0 if high == low else (v - low) / (high - low) for v in values]


def blend(hits: Sequence[Hit], weight: float) -> list[Ranked]:
    """The hits by blended score, best first (relevance order on ties)."""
    if not 0.0 <= weight <= 1.0:
        raise invalid_field("ranking_options.distrust", weight, "a number in [0, 1]")
    if not hits:
        return []
    priors = [float(v) for v in distrust_value([h.auth_weight for h in hits], [h.prov_entropy for h in hits])]
    relevance, prior = _scaled([h.relevance for h in hits]), _scaled(priors)
    ranked = [
        Ranked(hit, priors[i], relevance[i] * (1.0 + weight * prior[i]) / (1.0 + weight)) for i, hit in enumerate(hits)
    ]
    order = sorted(range(len(ranked)), key=lambda i: (-ranked[i].score, -hits[i].relevance))
    return [ranked[i] for i in order]
