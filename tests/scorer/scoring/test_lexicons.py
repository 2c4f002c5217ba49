"""The lexicons are the reference's data (reference-implementation.md §2.1, Appendix A)."""

from __future__ import annotations

import re

from services.scorer.scoring import lexicons as lx


def test_institutional_markers_by_tier() -> None:
    assert len(lx.INSTITUTIONAL_MARKERS) == 23
    tiers: dict[float, list[str]] = {}
    for marker, score in lx.INSTITUTIONAL_MARKERS.items():
        tiers.setdefault(score, []).append(marker)
    assert tiers == {
        0.35: ["nature", "science", "lancet", "nejm", "new england journal"],
        0.30: ["who", "cdc", "fda", "nih"],
        0.25: [".gov", "government"],
        0.20: ["official", "university"],
        0.18: ["institute", "academy"],
        0.15: ["journal", "peer-reviewed", "proceedings"],
        0.10: ["wikipedia"],
        0.08: ["news", "media"],
        0.05: ["blog", "social media"],
    }
    assert lx.INSTITUTIONAL_CAP == 0.35
    assert lx.INSTITUTIONAL_METADATA_FIELDS == ("source", "url", "publisher")


def test_consensus_and_primary_lists() -> None:
    assert len(lx.CONSENSUS_PHRASES) == 12
    assert {"experts agree", "well-established", "established fact", "studies show"} <= set(lx.CONSENSUS_PHRASES)
    assert len(lx.PRIMARY_SOURCE_MARKERS) == 28
    assert {
        "patent",
        "experiment",
        "experimental",
        "letter",
        "observation",
        "firsthand",
        "first-hand",
    } <= set(lx.PRIMARY_SOURCE_MARKERS)


def test_strict_plurals_extend_only_known_markers() -> None:
    assert set(lx.INSTITUTIONAL_PLURALS) <= set(lx.INSTITUTIONAL_MARKERS)
    assert set(lx.PRIMARY_SOURCE_PLURALS) <= set(lx.PRIMARY_SOURCE_MARKERS)
    assert lx.INSTITUTIONAL_PLURALS["official"] == ("officials",)
    for marker in ("letter", "patent", "observation"):
        assert lx.PRIMARY_SOURCE_PLURALS[marker] == (marker + "s",)


def test_patterns_and_tables() -> None:
    assert len(lx.CITATION_PATTERNS) == 6
    assert r"\b(?:" + "|".join(lx.PATENT_OFFICE_CODES) + r")\s*\d+" == lx.PATENT_NUMBER_PATTERN
    assert re.search(lx.YEAR_STATEMENT_PATTERN, "published in 1851").group(1) == "1851"
    assert lx.YEAR_METADATA_FIELDS == ("year", "date", "publication_date", "published")
    assert len(lx.SOURCE_TYPE_PRIORS) == 13
    assert lx.DEFAULT_PRIOR == (0.50, 3.0)
    assert [len(cues) for cues in lx.SOURCE_TYPE_WORD_CUES.values()] == [1, 4, 4, 5, 6, 5, 5, 3, 5, 4]
    assert list(lx.SOURCE_TYPE_WORD_CUES) == [c for c in lx.SOURCE_TYPE_ORDER if c != "lab_notebook"]
