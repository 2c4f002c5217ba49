"""Where `strict` and `reference` differ (distrust-method.md §5): the reference's known false positives and
misses, and the missing year."""

from __future__ import annotations

import pytest

from services.scorer.scoring import DEFAULT_PROFILE, PROFILES, score_document

FILLER = " The rest of this sentence is only here to make the text long enough."


def breakdown(text: str, profile: str, metadata: dict | None = None):
    return score_document(text + FILLER, metadata, profile=profile).breakdown


def test_profiles_and_default() -> None:
    assert PROFILES == ("strict", "reference")
    assert DEFAULT_PROFILE == "strict"
    assert score_document("plain words" + FILLER).profile == "strict"


@pytest.mark.parametrize(
    ("text", "reference_marker", "reference_score"),
    [
        ("The whole town came.", "who", 0.30),
        ("Wholesale prices fell.", "who", 0.30),
        ("Each signature was checked.", "nature", 0.35),
        ("The monthly newsletter arrived.", "news", 0.08),
        ("His conscience was clear.", "science", 0.35),
    ],
)
def test_substring_false_positives_only_in_reference(text: str, reference_marker: str, reference_score: float) -> None:
    ref = breakdown(text, "reference")
    assert (ref.institutional_marker, ref.institutional_score) == (reference_marker, reference_score)
    strict = breakdown(text, "strict")
    assert (strict.institutional_marker, strict.institutional_score) == (None, 0.0)


@pytest.mark.parametrize(
    ("text", "marker", "score"),
    [
        ("Officials confirmed it.", "official", 0.20),
        ("Two universities agreed.", "university", 0.20),
        ("The academies met.", "academy", 0.18),
        ("Several journals printed it.", "journal", 0.15),
        ("The WHO said so.", "who", 0.30),
        ("See data.gov for the tables.", ".gov", 0.25),
        ("In the New England Journal of Medicine.", "new england journal", 0.35),
        ("Posted on social media.", "media", 0.08),  # "media" outranks "social media"
    ],
)
def test_strict_institutional_markers_are_word_bounded_with_plurals(text: str, marker: str, score: float) -> None:
    strict = breakdown(text, "strict")
    assert (strict.institutional_marker, strict.institutional_score) == (marker, score)


def test_officials_counts_as_official_only_in_strict() -> None:
    text = "Officials confirmed it at noon."
    assert breakdown(text, "strict").institutional_score == 0.20
    # The reference finds "official" inside "officials" as a substring too: the same score, by accident.
    assert breakdown(text, "reference").institutional_score == 0.20


@pytest.mark.parametrize(
    ("text", "strict_count"),
    [
        ("They kept letters.", 1),
        ("Two patents were filed.", 1),
        ("The observations were made.", 1),
        ("Diaries and archives and photographs.", 3),
        ("Journal entries, lab notebooks and oral histories.", 3),
        ("A letter, two letters and a patent.", 3),
    ],
)
def test_plural_primary_markers_count_only_in_strict(text: str, strict_count: int) -> None:
    assert breakdown(text, "strict").primary_count == strict_count
    singular = {"A letter, two letters and a patent.": 2}.get(text, 0)
    assert breakdown(text, "reference").primary_count == singular


@pytest.mark.parametrize(
    ("text", "reference_count", "strict_count"),
    [
        ("It is a well-established fact.", 2, 1),
        ("According to experts agree, said the man.", 2, 1),
        ("Experts agree. Studies show.", 2, 2),
        ("Scientific consensuscientific consensus.", 1, 1),
        ("A well-established fact and a well-established fact.", 4, 2),
    ],
)
def test_overlapping_consensus_phrases_count_once_in_strict(text: str, reference_count: int, strict_count: int) -> None:
    assert breakdown(text, "reference").consensus_count == reference_count
    assert breakdown(text, "strict").consensus_count == strict_count


def test_missing_year_is_unknown_in_strict_and_modern_in_reference() -> None:
    ref = breakdown("No date anywhere.", "reference")
    strict = breakdown("No date anywhere.", "strict")
    assert (ref.year, ref.year_source, ref.base_entropy, ref.age_adjustment) == (None, "unknown", 1.5, 0.0)
    assert (strict.year, strict.year_source, strict.base_entropy, strict.age_adjustment) == (
        None,
        "unknown",
        3.5,
        0.0,
    )
    # A known year gives the same base in both.
    for profile in PROFILES:
        assert breakdown("Published in 2001.", profile).base_entropy == 1.5


def test_profiles_agree_when_no_defect_is_involved() -> None:
    text = "Published in 1851 [1]. The patent describes a measurement; experts agree (Smith, 2019)."
    ref = score_document(text, profile="reference")
    strict = score_document(text, profile="strict")
    assert (ref.auth_weight, ref.prov_entropy) == (strict.auth_weight, strict.prov_entropy)
