"""Preference pairs by provenance: the answer with primary, diverse evidence is preferred; ties and thin margins
make no pair; bad candidate lines are named."""

from __future__ import annotations

import json

import pytest

from services.scorer.preference_pairs import provenance_pairs, read_candidates
from shared.errors import InvalidArgument
from shared.records import validate_training_record

PRIMARY = (
    "According to the surveyor's field diary of 12 May 1871 and his original letters held in the county archive, "
    "the river was measured at dawn; the notebook records the depth at 4 feet."
)
AUTHORITY = (
    "Experts agree that the official consensus, as stated by the government agency and confirmed by Wikipedia and "
    "major news outlets, is settled; fact-checkers rate other claims false."
)


def _lines(*records: dict[str, object]) -> list[bytes]:
    return [json.dumps(r).encode() + b"\n" for r in records]


def test_the_primary_answer_is_preferred_whatever_its_place() -> None:
    items = read_candidates(
        _lines(
            {"prompt": "How deep was the river?", "candidates": [AUTHORITY, PRIMARY]},
            {"messages": [{"role": "user", "content": "Depth?"}], "candidates": [PRIMARY, AUTHORITY, AUTHORITY]},
        ),
        field_name="input_file_id",
    )
    pairs, report = provenance_pairs(items, profile="strict")
    assert (report.prompts, report.pairs, report.ties, report.below_margin) == (2, 2, 0, 0)
    for pair in pairs:
        assert validate_training_record(pair) == "preference"
        assert pair["preferred_output"][0]["content"] == PRIMARY
        assert pair["non_preferred_output"][0]["content"] == AUTHORITY
        meta = pair["metadata"]
        assert meta["rule"] == "provenance" and meta["margin"] > 1.0
        assert meta["preferred"]["auth_weight"] < meta["non_preferred"]["auth_weight"]
    assert pairs[0]["input"]["messages"] == [{"role": "user", "content": "How deep was the river?"}]
    assert set(report.margin_quantiles()) == {"min", "p25", "median", "p75", "max"}


def test_ties_and_thin_margins_make_no_pair() -> None:
    items = read_candidates(
        _lines(
            {"prompt": "Same?", "candidates": [PRIMARY, PRIMARY]},
            {"prompt": "Depth?", "candidates": [PRIMARY, AUTHORITY]},
        ),
        field_name="file",
    )
    pairs, report = provenance_pairs(items, profile="strict", min_margin=1000.0)
    assert pairs == [] and (report.ties, report.below_margin, report.pairs) == (1, 1, 0)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"candidates": [PRIMARY, AUTHORITY]}, 'a non-empty "prompt" or "messages"'),
        ({"prompt": "q", "candidates": [PRIMARY]}, "2 to 16 answers"),
        ({"prompt": "q", "candidates": [PRIMARY, ""]}, "non-empty string"),
    ],
)
def test_a_bad_line_is_named(record: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidArgument, match=f"line 2: .*{reason}") as caught:
        read_candidates(_lines({"prompt": "ok", "candidates": [PRIMARY, AUTHORITY]}, record), field_name="file")
    assert caught.value.param == "file"
