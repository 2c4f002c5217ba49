"""Preference pairs by provenance: the answer with primary, diverse evidence is preferred; ties and thin margins
make no pair; bad candidate lines are named."""

from __future__ import annotations

import json

import pytest

from services.scorer.preference_pairs import manual_pairs, provenance_pairs, read_candidates
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


def test_annotations_from_a_spreadsheet_or_jsonl() -> None:
    sheet = b'prompt,preferred,non_preferred\r\n"Depth, in feet?",The diary says 4.,About 5.\r\nWho wrote it?,The surveyor.,Experts.\r\n'
    pairs, report = manual_pairs(sheet, field_name="file")
    assert report.pairs == 2 and [p["metadata"]["line"] for p in pairs] == [2, 3]
    assert pairs[0]["input"]["messages"][0]["content"] == "Depth, in feet?"
    assert all(validate_training_record(p) == "preference" for p in pairs)
    lines = b'{"prompt": "q", "preferred": "a", "non_preferred": "b"}\n'
    assert manual_pairs(lines, field_name="file")[0][0]["preferred_output"][0]["content"] == "a"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"prompt,preferred\nq,a\n", "the header row lacks non_preferred"),
        (b"prompt,preferred,non_preferred\nq,a,\n", "line 2: no non_preferred"),
        (b"prompt,preferred,non_preferred\nq,a,a\n", "line 2: preferred and non_preferred are the same"),
        (b'{"prompt": "q", "preferred": "a", "non_preferred": "b"}\n{"prompt": 3}\n', "line 2: no prompt"),
    ],
)
def test_bad_annotations_are_named(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason):
        manual_pairs(data, field_name="file")
