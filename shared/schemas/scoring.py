"""Scoring: the two scores of a document and the breakdown of every signal behind them.

The scorer computes them, the gRPC contract carries them (`distrust.scorer.v1.Breakdown`, `ScoreResult`) and
the gateway returns them; tests check that the message fields equal these fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Every signal and formula term behind a score (reference §2.4–§2.7 names where they exist)."""

    text_chars: int
    # Authority terms.
    citation_count: int
    citation_count_source: str  # "text", or "known" when a known citation count was given
    citation_score: float
    institutional_score: float
    institutional_marker: str | None  # the lexicon marker that gave the score, e.g. "official"
    institutional_field: str | None  # where it was found: "text", "source", "url" or "publisher"
    consensus_count: int
    consensus_score: float
    year: int | None
    year_source: str  # "metadata", "text" or "unknown"
    year_evidence: str | None  # the metadata field name, or the text that matched (e.g. "published in 1851")
    age_adjustment: float
    primary_count: int
    primary_adjustment: float
    # Entropy terms.
    base_entropy: float
    source_counts: dict[str, int]
    distribution_entropy: float
    primary_bonus: float
    variety_count: int
    variety_bonus: float
    institutional_penalty: float
    consensus_penalty: float
    # Before any hybrid blend.
    dynamic_auth_weight: float
    dynamic_prov_entropy: float
    # The hybrid prior, set only when scoring_method is "hybrid".
    source_type: str | None
    prior_auth_weight: float | None
    prior_prov_entropy: float | None


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The scores of one document, how they were produced, and why; plain JSON values only (`dataclasses.asdict`)."""

    auth_weight: float
    prov_entropy: float
    scoring_method: str  # "dynamic", "hybrid" or "default" (the reference's names)
    profile: str
    breakdown: Breakdown


class LineError(BaseModel):
    """A line of a dataset that could not be scored, and why."""

    line: int
    reason: str
