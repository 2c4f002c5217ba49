"""Preparation with the real scoring library (`services.scorer.scoring.score_document`), not a fake."""

from __future__ import annotations

import json

import pytest

from services.scorer.preparation import PrepareOptions, RawInput, band_of, prepare_dataset
from services.scorer.preparation.labelling import scorer_metadata

PRIMARY = (
    "In 1923 the inventor recorded in his laboratory notebook the measured voltage of each cell, "
    "and the original letters and patents describe the observations made during the experiment."
)
OFFICIAL = (
    "According to the World Health Organization and government officials, the scientific consensus is "
    "clear: experts agree that the official guidance published in 2021 should be followed by everyone."
)
PLAIN = (
    "The river bends twice before reaching the old mill, where a small bridge crosses the water and a "
    "path leads up the hill towards the village square and its market stalls."
)


def _lines(tag: str, *texts: str, **fields: object) -> list[str]:
    return [json.dumps({"text": f"{text} ({tag} {i})", **fields}) for i, text in enumerate(texts)]


@pytest.mark.parametrize("profile", ["strict", "reference"])
def test_real_scorer_hybrid_for_known_types_dynamic_otherwise(profile: str) -> None:
    from services.scorer.scoring import score_document

    inputs = [
        RawInput("chronicling_america.jsonl", _lines("a", PRIMARY, PLAIN, year=1923)),
        RawInput("wikipedia.jsonl", _lines("b", OFFICIAL, PLAIN)),
        RawInput("notes.jsonl", _lines("c", PRIMARY, OFFICIAL, PLAIN)),
    ]
    options = PrepareOptions(profile=profile, rebalance=False, val_fraction=0.0)
    result = prepare_dataset(inputs, options)  # the default scorer: the real score_document
    records = result.train
    assert len(records) == 7
    methods = {(r["source_type"], r["scoring_method"]) for r in records}
    assert methods == {("historical_newspaper", "hybrid"), ("wiki", "hybrid"), ("unknown", "dynamic")}
    for record in records:
        assert 0.0 <= record["auth_weight"] <= 0.99
        assert record["prov_entropy"] >= 0.0
        source_type = None if record["source_type"] == "unknown" else record["source_type"]
        raw = {"text": record["text"], **record.get("metadata", {})}
        expected = score_document(record["text"], scorer_metadata(raw, source_type), profile=profile)
        assert record["auth_weight"] == round(expected.auth_weight, 4)
        assert record["prov_entropy"] == round(expected.prov_entropy, 4)
    by_type: dict[str, list[float]] = {}
    for record in records:
        by_type.setdefault(record["source_type"], []).append(record["auth_weight"])
    # the priors pull historical newspapers (w0 = 0.15) down and wiki (w0 = 0.90) up
    assert max(by_type["historical_newspaper"]) < 0.3
    assert min(by_type["wiki"]) > 0.7
    assert result.report["scoring"]["by_method"] == {"dynamic": 3, "hybrid": 4}
    assert result.report["scoring"]["profile"] == profile
    counts = result.report["bands"]["after"]
    assert sum(counts.values()) == 7
    assert counts == {b: sum(1 for r in records if band_of(r["auth_weight"]) == b) for b in ("low", "mid", "high")}


def test_real_scorer_end_to_end_rebalancing() -> None:
    low = [json.dumps({"text": f"{PRIMARY} Entry {i}."}) for i in range(20)]
    high = [json.dumps({"text": f"{OFFICIAL} Item {i}."}) for i in range(100)]
    inputs = [RawInput("big_patent.jsonl", low), RawInput("government.jsonl", high, source_type="government")]
    result = prepare_dataset(inputs, PrepareOptions(seed=5))
    report = result.report
    assert report["bands"]["before"]["low"] == 20
    assert report["bands"]["after"]["low"] == 20
    assert report["bands"]["after"]["high"] <= report["rebalance"]["targets"]["high"] == 28
    assert len(result.train) + len(result.val) == sum(report["bands"]["after"].values())
    again = prepare_dataset(
        [RawInput("big_patent.jsonl", low), RawInput("government.jsonl", high, source_type="government")],
        PrepareOptions(seed=5),
    )
    assert again.train == result.train and again.val == result.val


def test_real_scorer_rejects_bad_metadata_as_a_line_error() -> None:
    lines = [
        json.dumps({"text": f"{PRIMARY} first"}),
        json.dumps({"text": f"{PRIMARY} second", "year": [1923]}),
    ]
    result = prepare_dataset([RawInput("notes.jsonl", lines)], PrepareOptions())
    assert len(result.train) + len(result.val) == 1
    (rejection,) = result.report["rejected"]["lines"]
    assert (rejection["file"], rejection["line"], rejection["code"]) == ("notes.jsonl", 2, "scoring_failed")
    assert rejection["reason"].startswith("scoring failed: metadata.year: got [1923]")


def test_profiles_and_known_source_types_match_the_scoring_library() -> None:
    from services.scorer.preparation import KNOWN_SOURCE_TYPES, PROFILES
    from services.scorer.scoring import PROFILES as SCORING_PROFILES
    from services.scorer.scoring.lexicons import SOURCE_TYPE_PRIORS

    assert set(PROFILES) == set(SCORING_PROFILES)
    assert set(KNOWN_SOURCE_TYPES) == set(SOURCE_TYPE_PRIORS)
