"""Scoring one document: every signal once, the authority and entropy formulas, the hybrid blend.

`score_document` follows the reference's `score_document` plus its hybrid: with a metadata `source_type`
(any string, as the reference's `score_batch` does) the result is 0.7·prior + 0.3·dynamic, the prior taken
from the table of reference §2.7 (0.50 / 3.0 for a type not in it). It scores any text, however short; only
`score_batch` applies the short-text default, as in the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from services.scorer.scoring import formulas as f
from services.scorer.scoring.citations import count_citations
from services.scorer.scoring.lexicons import DEFAULT_PRIOR, SOURCE_TYPE_PRIORS
from services.scorer.scoring.profiles import DEFAULT_PROFILE, Profile, get_profile
from services.scorer.scoring.result import (
    SCORING_DEFAULT,
    SCORING_DYNAMIC,
    SCORING_HYBRID,
    Breakdown,
    ScoreResult,
)
from services.scorer.scoring.signals import count_primary
from services.scorer.scoring.sources import classify_source_types, shannon_entropy
from services.scorer.scoring.textview import TextView
from services.scorer.scoring.validation import MAX_CHARS, validate_document, validate_known_citation_count
from services.scorer.scoring.years import extract_year

# score_batch's fixed scores for text shorter than SHORT_TEXT_CHARS (reference §2.7).
SHORT_TEXT_CHARS: Final = 50
DEFAULT_AUTH_WEIGHT: Final = 0.50
DEFAULT_PROV_ENTROPY: Final = 3.0


def score_document(
    text: str,
    metadata: Mapping[str, Any] | None = None,
    *,
    profile: str = DEFAULT_PROFILE,
    index: int = 0,
    known_citation_count: int | None = None,
    max_chars: int = MAX_CHARS,
) -> ScoreResult:
    """Score one document; `index` only names it in errors (`documents[<index>].text`).

    `known_citation_count` is the reference's argument of that name: used instead of counting citations in
    the text when truthy (so 0 still counts them, as in the reference).
    """
    scoring = get_profile(profile)
    validate_document(text, metadata, index=index, max_chars=max_chars)
    validate_known_citation_count(known_citation_count, index=index)
    return score_valid(text, metadata, scoring, known_citation_count=known_citation_count)


def score_valid(
    text: str,
    metadata: Mapping[str, Any] | None,
    scoring: Profile,
    *,
    known_citation_count: int | None = None,
    short_text_default: bool = False,
) -> ScoreResult:
    """Score an already validated document.

    With `short_text_default`, text under 50 characters gets the fixed default scores (its breakdown still
    shows the signals found).
    """
    view = TextView(text, scoring.vocabulary)

    if known_citation_count:
        citations, citation_source = known_citation_count, "known"
    else:
        citations, citation_source = count_citations(view), "text"
    citation_score = f.citation_score(citations)
    institution = scoring.institutional.best(view, metadata)
    consensus = scoring.count_consensus(view.lower)
    consensus_score = f.consensus_score(consensus)
    year = extract_year(view, metadata)
    age = f.age_adjustment(year.value)
    primary = count_primary(scoring.primary, view)
    primary_adjustment = f.primary_adjustment(primary)
    auth_weight = f.authority_weight(citation_score, institution.score, consensus_score, age, primary_adjustment)

    source_type = metadata.get("source_type") if metadata else None
    counts = classify_source_types(view, source_type)
    base = f.base_entropy(year.value, scoring.unknown_year_entropy_base)
    distribution = shannon_entropy(counts)
    primary_bonus = f.primary_bonus(primary)
    variety = len(counts)  # every category present has a count > 0
    variety_bonus = f.variety_bonus(variety)
    institutional_penalty = f.institutional_penalty(institution.score)
    consensus_penalty = f.consensus_penalty(consensus)
    prov_entropy = f.provenance_entropy(
        base, distribution, primary_bonus, variety_bonus, institutional_penalty, consensus_penalty
    )

    prior_auth = prior_entropy = None
    if short_text_default and len(text) < SHORT_TEXT_CHARS:
        method, final_auth, final_entropy = SCORING_DEFAULT, DEFAULT_AUTH_WEIGHT, DEFAULT_PROV_ENTROPY
    elif source_type is not None:
        prior_auth, prior_entropy = SOURCE_TYPE_PRIORS.get(source_type, DEFAULT_PRIOR)
        method = SCORING_HYBRID
        final_auth = f.blend(prior_auth, auth_weight)
        final_entropy = f.blend(prior_entropy, prov_entropy)
    else:
        method, final_auth, final_entropy = SCORING_DYNAMIC, auth_weight, prov_entropy

    breakdown = Breakdown(
        text_chars=len(text),
        citation_count=citations,
        citation_count_source=citation_source,
        citation_score=citation_score,
        institutional_score=institution.score,
        institutional_marker=institution.marker,
        institutional_field=institution.field,
        consensus_count=consensus,
        consensus_score=consensus_score,
        year=year.value,
        year_source=year.source,
        year_evidence=year.evidence,
        age_adjustment=age,
        primary_count=primary,
        primary_adjustment=primary_adjustment,
        base_entropy=base,
        source_counts=counts,
        distribution_entropy=distribution,
        primary_bonus=primary_bonus,
        variety_count=variety,
        variety_bonus=variety_bonus,
        institutional_penalty=institutional_penalty,
        consensus_penalty=consensus_penalty,
        dynamic_auth_weight=auth_weight,
        dynamic_prov_entropy=prov_entropy,
        source_type=source_type,
        prior_auth_weight=prior_auth,
        prior_prov_entropy=prior_entropy,
    )
    return ScoreResult(final_auth, final_entropy, method, scoring.name, breakdown)
