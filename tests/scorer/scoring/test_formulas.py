"""The reference scorer's formulas (reference-implementation.md §2.2–§2.7), one signal or term at a time, with
golden numbers worked out by hand from the spec."""

from __future__ import annotations

import math

import pytest

from services.scorer.scoring import PROFILES, score_batch, score_document

PLAIN = "The committee met again in the spring to review the matter."  # no signal of any kind
APPROX = {"abs": 1e-9}


def score(text: str, metadata: dict | None = None, profile: str = "reference", **kwargs):
    return score_document(text, metadata, profile=profile, **kwargs)


# ---- golden documents ------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_plain_text_scores_the_base(profile: str) -> None:
    result = score(PLAIN, profile=profile)
    assert result.auth_weight == pytest.approx(0.30, **APPROX)
    # No year: the reference treats it as modern (1.5), strict as unknown (3.5).
    assert result.prov_entropy == pytest.approx(1.5 if profile == "reference" else 3.5, **APPROX)
    assert result.scoring_method == "dynamic"
    assert result.breakdown.source_counts == {}


def test_golden_primary_source_document() -> None:
    text = "Published in 1851. The patent describes a measurement recorded in the laboratory notebook of the inventor."
    # C = 0; I = 0; K = 0; G = -0.15 (1851); P = -min(0.45, 3 * 0.15) for patent, measurement and
    # laboratory notebook.
    # w = clamp(0.3 + 0 + 0 + 0 - 0.15 - 0.45) = clamp(-0.3) = 0.0.
    # Sources: patent (word), lab_notebook ("laboratory"), measurement ("recorded") -> Hs = log2(3), V = 3.
    # H = 5.5 + log2(3) + min(2, 1.5) + min(1.5, 0.9) - 0 - 0.
    for profile in PROFILES:
        result = score(text, profile=profile)
        assert result.auth_weight == 0.0
        assert result.prov_entropy == pytest.approx(5.5 + math.log2(3) + 1.5 + 0.9, **APPROX)
        assert result.breakdown.primary_count == 3
        assert result.breakdown.year == 1851


def test_golden_consensus_document() -> None:
    text = (
        "According to the WHO, experts agree and studies show this is a well-established fact [1] [2] "
        "(Smith, 2019). Copyright 2015 by the publisher."
    )
    result = score(text)
    b = result.breakdown
    # Citations: [1], [2] (family 1) + (Smith, 2019) (family 2) = 3.
    assert b.citation_count == 3
    assert b.citation_score == pytest.approx(0.05 * math.log10(4), **APPROX)
    assert (b.institutional_score, b.institutional_marker) == (0.30, "who")
    # experts agree, studies show, well-established, established fact (the overlap counts twice).
    assert b.consensus_count == 4
    assert b.consensus_score == pytest.approx(0.20, **APPROX)
    assert (b.year, b.age_adjustment) == (2015, 0.15)
    expected_w = 0.3 + 0.05 * math.log10(4) + 0.30 + 0.20 + 0.15
    assert result.auth_weight == pytest.approx(expected_w, **APPROX)
    # H = 1.5 + 0 + 0 + 0 - 1.5 * 0.30 - min(1.0, 4 * 0.4).
    assert result.prov_entropy == pytest.approx(1.5 - 0.45 - 1.0, **APPROX)


def test_golden_false_positive_document_reference_vs_strict() -> None:
    text = (
        "The whole signature page of the newsletter was signed by officials that kept letters, patents and "
        "observations."
    )
    ref = score(text, profile="reference")
    # reference: "nature" inside "signature" -> I = 0.35; no singular primary marker; no year.
    assert ref.auth_weight == pytest.approx(0.3 + 0.35, **APPROX)
    # Sources: lab_notebook only ("observation" is a substring there). H = 1.5 + 0 + 0 + 0.3 - 0.525.
    assert ref.prov_entropy == pytest.approx(1.5 + 0.3 - 0.525, **APPROX)
    strict = score(text, profile="strict")
    # strict: I = 0.20 ("officials"), P = -0.45 (letters, patents, observations), no year -> B = 3.5.
    assert strict.auth_weight == pytest.approx(0.3 + 0.20 - 0.45, **APPROX)
    assert strict.prov_entropy == pytest.approx(3.5 + 1.5 + 0.3 - 0.30, **APPROX)


# ---- each authority term and its clamp ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("See [12] and [3] for details of the construction of the machine.", 2),
        ("As argued before (Smith, 2020) and (Jones 1999), the method works well.", 2),
        ("As argued before (Smith et al., 2004) the method works well in practice.", 1),
        ("As argued before [Kuhn 1962] the method works well in practice, really.", 1),
        ("Ibid. and op. cit. and loc cit are the old ways of citing a source here.", 3),
        ("1. Darwin, On the Origin of Species, 1859 is the book everyone cites.", 1),
    ],
)
def test_citation_families(text: str, count: int) -> None:
    b = score(text).breakdown
    assert b.citation_count == count
    assert b.citation_score == pytest.approx(min(0.25, 0.05 * math.log10(count + 1)), **APPROX)


def test_citation_score_clamps_and_known_count() -> None:
    b = score(PLAIN, known_citation_count=10**6).breakdown
    assert (b.citation_count, b.citation_count_source, b.citation_score) == (10**6, "known", 0.25)
    b = score(PLAIN, known_citation_count=9).breakdown
    assert b.citation_score == pytest.approx(0.05, **APPROX)
    # 0 is falsy in the reference, so the text is counted instead.
    b = score("See [12] and [3] for details of the construction of it.", known_citation_count=0).breakdown
    assert (b.citation_count, b.citation_count_source) == (2, "text")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("An article in the Lancet on the matter was read by many people.", 0.35),
        ("The CDC issued guidance on the matter that many people followed.", 0.30),
        ("The government issued guidance on the matter that people followed.", 0.25),
        ("A university issued guidance on the matter that people followed.", 0.20),
        ("An institute issued guidance on the matter that people followed.", 0.18),
        ("A peer-reviewed study covered the matter that many people followed.", 0.15),
        ("A Wikipedia article covered the matter that many people followed.", 0.10),
        ("The media covered the matter that many people followed closely.", 0.08),
        ("A blog covered the matter that many people followed closely, too.", 0.05),
        ("University and Nature and a blog: the maximum marker score wins.", 0.35),
    ],
)
def test_institutional_tiers_max_wins(text: str, expected: float) -> None:
    for profile in PROFILES:
        b = score(text, profile=profile).breakdown
        assert b.institutional_score == expected
        assert b.institutional_penalty == pytest.approx(-1.5 * expected, **APPROX)


def test_institutional_markers_in_metadata_fields() -> None:
    for field, value, expected in [
        ("source", "Nature Publishing Group", 0.35),
        ("url", "https://www.fda.gov/x", 0.30),
        ("publisher", "Oxford University Press", 0.20),
    ]:
        b = score(PLAIN, {field: value}).breakdown
        assert (b.institutional_score, b.institutional_field) == (expected, field)


@pytest.mark.parametrize(("phrases", "count", "k", "kp"), [(1, 1, 0.10, -0.4), (2, 2, 0.20, -0.8), (3, 3, 0.20, -1.0)])
def test_consensus_score_and_penalty_clamp(phrases: int, count: int, k: float, kp: float) -> None:
    text = " and ".join(["experts agree", "studies show", "settled science"][:phrases]) + ", they say on the radio."
    b = score(text).breakdown
    assert b.consensus_count == count
    assert b.consensus_score == pytest.approx(k, **APPROX)
    assert b.consensus_penalty == pytest.approx(kp, **APPROX)


@pytest.mark.parametrize(
    ("year", "g", "base"), [(1969, -0.15, 5.5), (1970, 0.0, 3.5), (1994, 0.0, 3.5), (1995, 0.15, 1.5)]
)
def test_age_adjustment_and_base_entropy_buckets(year: int, g: float, base: float) -> None:
    for profile in PROFILES:
        b = score(PLAIN, {"year": year}, profile=profile).breakdown
        assert (b.age_adjustment, b.base_entropy) == (g, base)


@pytest.mark.parametrize(
    ("n", "p", "pb"), [(1, -0.15, 0.5), (2, -0.30, 1.0), (3, -0.45, 1.5), (4, -0.45, 2.0), (5, -0.45, 2.0)]
)
def test_primary_adjustment_and_bonus_clamps(n: int, p: float, pb: float) -> None:
    markers = ["a diary", "a logbook", "a specimen", "a facsimile", "a photograph"][:n]
    text = "The museum holds " + ", ".join(markers) + " from the old house on the hill."
    b = score(text).breakdown
    assert b.primary_count == n
    assert b.primary_adjustment == pytest.approx(p, **APPROX)
    assert b.primary_bonus == pytest.approx(pb, **APPROX)


def test_authority_clamps_at_099_and_entropy_floors_at_zero() -> None:
    text = "Nature reports: experts agree, studies show, settled science. Copyright 2010."
    result = score(text, known_citation_count=10**6)
    # 0.3 + 0.25 + 0.35 + 0.20 + 0.15 = 1.25 -> 0.99; H = 1.5 - 0.525 - 1.0 < 0 -> 0.
    assert result.auth_weight == 0.99
    assert result.prov_entropy == 0.0


# ---- entropy terms ---------------------------------------------------------------------------------------


def test_source_type_counts_shannon_and_variety() -> None:
    text = (
        "Abstract: we measured it; the archive has a letter; chapter two; it was reported; see Wikipedia; "
        "a government policy; a blog comment; the patent US 3,456,789 and lab work."
    )
    b = score(text).breakdown
    assert b.source_counts == {
        "patent": 2,
        "measurement": 1,
        "archive": 1,
        "oral_history": 1,
        "academic_paper": 1,
        "textbook": 1,
        "news": 1,
        "wiki": 1,
        "government": 1,
        "blog": 1,
    }
    total = 11
    expected_hs = -(2 / total) * math.log2(2 / total) - 9 * (1 / total) * math.log2(1 / total)
    assert b.distribution_entropy == pytest.approx(expected_hs, **APPROX)
    assert (b.variety_count, b.variety_bonus) == (10, 1.5)


@pytest.mark.parametrize(
    ("source_type", "counts"),
    [
        ("patent_pre1970", {"patent": 2}),
        ("historical_newspaper", {"news": 1}),
        ("wiki", {"wiki": 2}),
        ("academic_paper", {"academic_paper": 1}),
        ("historical_book", {"archive": 1}),
        ("classical_philosophy", {}),
    ],
)
def test_metadata_source_type_rule(source_type: str, counts: dict[str, int]) -> None:
    assert score(PLAIN, {"source_type": source_type}).breakdown.source_counts == counts


# ---- hybrid and batch ------------------------------------------------------------------------------------

PRIORS = {  # reference §2.7, typed in from the spec
    "patent_pre1970": (0.05, 7.0),
    "classical_philosophy": (0.08, 7.5),
    "historical_book": (0.10, 6.0),
    "classical_literature": (0.10, 6.5),
    "classical_rhetoric": (0.12, 6.0),
    "historical_newspaper": (0.15, 6.0),
    "preprint": (0.50, 3.5),
    "logic_training": (0.55, 3.2),
    "academic_paper": (0.60, 3.0),
    "news_modern": (0.75, 1.5),
    "medical_guidelines": (0.85, 1.2),
    "wiki": (0.90, 1.0),
    "government": (0.95, 0.5),
    "forum_post": (0.50, 3.0),  # not in the table
    "": (0.50, 3.0),
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("source_type", "prior"), PRIORS.items())
def test_hybrid_blends_prior_and_dynamic(profile: str, source_type: str, prior: tuple[float, float]) -> None:
    result = score(PLAIN, {"source_type": source_type}, profile=profile)
    b = result.breakdown
    assert result.scoring_method == "hybrid"
    assert (b.prior_auth_weight, b.prior_prov_entropy) == prior
    assert result.auth_weight == pytest.approx(0.7 * prior[0] + 0.3 * b.dynamic_auth_weight, **APPROX)
    assert result.prov_entropy == pytest.approx(0.7 * prior[1] + 0.3 * b.dynamic_prov_entropy, **APPROX)


def test_hybrid_golden() -> None:
    # Dynamic: w = 0.3; sources {patent: 2} -> Hs = 0, V = 1; H = 1.5 + 0.3 (reference) or 3.5 + 0.3 (strict).
    ref = score(PLAIN, {"source_type": "patent_pre1970"})
    assert (ref.auth_weight, ref.prov_entropy) == (pytest.approx(0.125), pytest.approx(0.7 * 7.0 + 0.3 * 1.8))
    strict = score(PLAIN, {"source_type": "patent_pre1970"}, profile="strict")
    assert strict.prov_entropy == pytest.approx(0.7 * 7.0 + 0.3 * 3.8, **APPROX)


@pytest.mark.parametrize("profile", PROFILES)
def test_batch_defaults_for_short_text(profile: str) -> None:
    docs = [
        ("", None),
        ("x" * 49, {"source_type": "wiki"}),
        (PLAIN[:50], None),
        (PLAIN, {"source_type": "wiki"}),
        (PLAIN, None),
    ]
    results = list(score_batch(docs, profile=profile))
    assert [r.scoring_method for r in results] == ["default", "default", "dynamic", "hybrid", "dynamic"]
    assert [(r.auth_weight, r.prov_entropy) for r in results[:2]] == [(0.50, 3.0), (0.50, 3.0)]
    # Everything else scores exactly as score_document does; score_document never applies the default.
    for (text, metadata), result in zip(docs[2:], results[2:], strict=True):
        assert result == score_document(text, metadata, profile=profile)
    assert score_document("x" * 49, profile=profile).scoring_method == "dynamic"
