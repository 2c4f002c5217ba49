"""Filename → source type mapping, source-type resolution and trivium categories."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from services.scorer.preparation import (
    FILENAME_SOURCE_MAP,
    KNOWN_SOURCE_TYPES,
    TRIVIUM_BY_SOURCE_TYPE,
    PrepareOptions,
    RawInput,
    prepare_dataset,
    source_type_for_filename,
)
from shared.errors import InvalidArgument


@pytest.mark.parametrize(("key", "source_type"), FILENAME_SOURCE_MAP)
def test_every_key_maps(key: str, source_type: str) -> None:
    assert source_type_for_filename(f"corpus_{key}.jsonl") == source_type


@pytest.mark.parametrize(
    ("name", "source_type"),
    [
        ("big_patent.jsonl", "patent_pre1970"),
        ("HUPD_2010.JSONL", "patent_pre1970"),
        ("internet_archive_classical_literature.jsonl", "classical_literature"),  # order matters
        ("internet_archive_books.jsonl", "historical_book"),
        ("internet_archive_philosophy.jsonl", "classical_philosophy"),
        ("chronicling_america.jsonl", "historical_newspaper"),
        ("ccdv_arxiv-classification.jsonl", "preprint"),
        ("allenai_pes2o.jsonl", "academic_paper"),
        ("tasksource_bigbench.jsonl", "logic_training"),
        ("wikimedia_wikipedia.jsonl", "wiki"),
        ("medalpaca_medical_meadow_wikidoc.jsonl", "wiki"),  # "wiki" comes before "medical" in the map
        ("medalpaca_medical_flashcards.jsonl", "medical_guidelines"),
        ("cnn_dailymail.jsonl", "news_modern"),
        ("patent_speeches.jsonl", "patent_pre1970"),
        ("raw/wiki/mystuff.jsonl", None),  # only the base name counts
        ("C:\\data\\arxiv\\notes.jsonl", None),
        ("notes.jsonl", None),
    ],
)
def test_reference_filenames(name: str, source_type: str | None) -> None:
    assert source_type_for_filename(name) == source_type


def test_trivium_map() -> None:
    assert set(TRIVIUM_BY_SOURCE_TYPE) == set(KNOWN_SOURCE_TYPES)
    assert len(KNOWN_SOURCE_TYPES) == 13
    assert Counter(TRIVIUM_BY_SOURCE_TYPE.values()) == {"logic": 6, "rhetoric": 5, "grammar": 2}
    assert TRIVIUM_BY_SOURCE_TYPE["classical_rhetoric"] == "grammar"
    assert TRIVIUM_BY_SOURCE_TYPE["patent_pre1970"] == "logic"
    assert TRIVIUM_BY_SOURCE_TYPE["government"] == "rhetoric"


def _one(text: str, **fields: object) -> list[str]:
    return [json.dumps({"text": text, **fields})]


def test_resolution_order_explicit_then_filename_then_record(fake_score, text_of) -> None:
    inputs = [
        RawInput("wiki.jsonl", _one(text_of("LOWTAG", 0), source_type="government"), source_type="preprint"),
        RawInput("wiki.jsonl", _one(text_of("LOWTAG", 1), source_type="government")),
        RawInput("mine.jsonl", _one(text_of("LOWTAG", 2), source_type="government")),
        RawInput("mine.jsonl", _one(text_of("LOWTAG", 3), source_type="my_blog", trivium_category="logic")),
        RawInput("mine.jsonl", _one(text_of("LOWTAG", 4), source_type=None)),
    ]
    options = PrepareOptions(rebalance=False, val_fraction=0.0)
    result = prepare_dataset(inputs, options, score=fake_score)
    by_number = {int(r["text"].split()[3]): r for r in result.train}
    assert by_number[0]["source_type"] == "preprint" and by_number[0]["trivium_category"] == "logic"
    assert by_number[1]["source_type"] == "wiki" and by_number[1]["trivium_category"] == "grammar"
    assert by_number[2]["source_type"] == "government" and by_number[2]["trivium_category"] == "rhetoric"
    assert by_number[3]["source_type"] == "my_blog" and by_number[3]["trivium_category"] == "logic"
    assert by_number[4]["source_type"] == "unknown" and "trivium_category" not in by_number[4]
    assert [r["scoring_method"] for _, r in sorted(by_number.items())] == [
        "hybrid", "hybrid", "hybrid", "dynamic", "dynamic",
    ]  # fmt: skip
    # what the scorer saw: the resolved type, and no source_type at all when none was resolved
    seen = {int(text.split()[3]): metadata for text, metadata in fake_score.calls}
    assert seen[0]["source_type"] == "preprint"
    assert seen[1]["source_type"] == "wiki"
    assert "source_type" not in seen[3]  # unknown types are not given to the scorer: no made-up prior
    assert "source_type" not in seen[4]
    assert [i["source_type_origin"] for i in result.report["inputs"]] == [
        "explicit", "filename", "none", "none", "none",
    ]  # fmt: skip
    assert result.report["source_types"]["after"] == {
        "government": 1, "my_blog": 1, "preprint": 1, "unknown": 1, "wiki": 1,
    }  # fmt: skip
    assert result.report["trivium"]["after"] == {"grammar": 1, "logic": 2, "rhetoric": 1, "uncategorised": 1}
    assert any("1 records have no source type" in w for w in result.report["warnings"])


def test_unknown_explicit_source_type_is_rejected(fake_score, lines_of) -> None:
    inputs = [RawInput("a.jsonl", lines_of(low=1)), RawInput("b.jsonl", lines_of(low=1), source_type="blog")]
    with pytest.raises(InvalidArgument) as info:
        prepare_dataset(inputs, PrepareOptions(), score=fake_score)
    assert info.value.param == "inputs[1].source_type"
    assert "'blog'" in info.value.message and "patent_pre1970" in info.value.message
