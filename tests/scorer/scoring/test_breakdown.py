"""What the breakdown says about a score: which marker matched and where, where the year came from, every
term; and that results serialise to JSON."""

from __future__ import annotations

import dataclasses
import json

import pytest

from services.scorer.scoring import Breakdown, ScoreResult, score_batch, score_document

FILLER = " The rest of this sentence is only here to make the text long enough."


def test_which_institutional_marker_and_where() -> None:
    b = score_document("Each signature was checked." + FILLER, profile="reference").breakdown
    assert (b.institutional_marker, b.institutional_field, b.institutional_score) == ("nature", "text", 0.35)
    b = score_document("Officials confirmed it." + FILLER, profile="strict").breakdown
    assert (b.institutional_marker, b.institutional_field) == ("official", "text")
    for profile in ("strict", "reference"):
        b = score_document("Plain words." + FILLER, {"url": "https://www.cdc.gov/flu"}, profile=profile).breakdown
        assert (b.institutional_marker, b.institutional_field, b.institutional_score) == ("cdc", "url", 0.30)


def test_institutional_tie_keeps_the_text() -> None:
    b = score_document("A university press." + FILLER, {"source": "official records"}).breakdown
    assert (b.institutional_marker, b.institutional_field) == ("university", "text")
    b = score_document("A blog post." + FILLER, {"source": "official records"}).breakdown
    assert (b.institutional_marker, b.institutional_field) == ("official", "source")


@pytest.mark.parametrize(
    ("text", "metadata", "year", "source", "evidence"),
    [
        ("Published in 1851." + FILLER, None, 1851, "text", "published in 1851"),
        ("Reprinted 2003. Published in 1851." + FILLER, None, 1851, "text", "published in 1851"),
        ("Copyright 1234 but also 1999 and 1888." + FILLER, None, 1999, "text", "1999"),
        ("©1987 by the author." + FILLER, None, 1987, "text", "©1987"),
        ("Published in 1851." + FILLER, {"year": 1923}, 1923, "metadata", "year"),
        ("Published in 1851." + FILLER, {"year": 0, "date": "May 1, 1960"}, 1960, "metadata", "date"),
        (
            "Published in 1851." + FILLER,
            {"date": "n.d.", "published": "1907-03-01"},
            1907,
            "metadata",
            "published",
        ),
        ("Published in 1851." + FILLER, {"year": "unknown"}, 1851, "text", "published in 1851"),
        ("No year at all." + FILLER, {"year": ""}, None, "unknown", None),
        ("x" * 2000 + " published in 1851", None, None, "unknown", None),  # only the first 2000 characters
    ],
)
def test_year_and_where_it_came_from(
    text: str, metadata: dict | None, year: int | None, source: str, evidence: str | None
) -> None:
    b = score_document(text, metadata).breakdown
    assert (b.year, b.year_source, b.year_evidence) == (year, source, evidence)


def test_metadata_int_year_is_taken_as_is() -> None:
    # No range check on metadata ints (reference): 3000 is "modern".
    b = score_document("Plain words." + FILLER, {"year": 3000}, profile="reference").breakdown
    assert (b.year, b.age_adjustment, b.base_entropy) == (3000, 0.15, 1.5)


def test_breakdown_terms_add_up_to_the_scores() -> None:
    text = "Published in 1851 [1]. Letters and a diary; experts agree; see the archive (Smith, 2019)." + FILLER
    for profile in ("strict", "reference"):
        result = score_document(text, profile=profile)
        b = result.breakdown
        raw = (
            0.3 + b.citation_score + b.institutional_score + b.consensus_score + b.age_adjustment + b.primary_adjustment
        )
        assert result.auth_weight == pytest.approx(max(0.0, min(0.99, raw)))
        total = (
            b.base_entropy
            + b.distribution_entropy
            + b.primary_bonus
            + b.variety_bonus
            + b.institutional_penalty
            + b.consensus_penalty
        )
        assert result.prov_entropy == pytest.approx(max(0.0, total))
        assert b.variety_count == len(b.source_counts)
        assert (b.dynamic_auth_weight, b.dynamic_prov_entropy) == (result.auth_weight, result.prov_entropy)
        assert (b.source_type, b.prior_auth_weight, b.prior_prov_entropy) == (None, None, None)


def test_default_result_still_shows_the_signals() -> None:
    (result,) = score_batch([("Published in 1851, a letter.", {"source_type": "wiki"})])
    assert (result.scoring_method, result.auth_weight, result.prov_entropy) == ("default", 0.5, 3.0)
    b = result.breakdown
    assert (b.text_chars, b.year, b.primary_count, b.source_type) == (28, 1851, 1, "wiki")
    assert (b.prior_auth_weight, b.prior_prov_entropy) == (None, None)


def test_asdict_is_json_ready_and_nested() -> None:
    result = score_document("Published in 1851, the patent." + FILLER, {"source_type": "patent_pre1970"})
    data = dataclasses.asdict(result)
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"auth_weight", "prov_entropy", "scoring_method", "profile", "breakdown"}
    assert data["breakdown"]["source_counts"] == {"patent": 3}
    assert set(data["breakdown"]) == {field.name for field in dataclasses.fields(Breakdown)}
    data["breakdown"]["source_counts"]["patent"] = 0  # a copy: the result is unchanged
    assert result.breakdown.source_counts == {"patent": 3}


def test_results_are_frozen() -> None:
    result = score_document("Plain words." + FILLER)
    assert isinstance(result, ScoreResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.auth_weight = 0.1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.breakdown.year = 1  # type: ignore[misc]
