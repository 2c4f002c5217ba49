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


def test_equally_valued_answers_are_picked_by_their_text_not_their_place() -> None:
    first, second = "Answer: A) " + AUTHORITY, "Answer: B) " + AUTHORITY  # the same value, other words
    orders = ([PRIMARY, first, second], [second, PRIMARY, first], [first, second, PRIMARY])
    items = read_candidates(_lines(*({"prompt": "Depth?", "candidates": c} for c in orders)), field_name="file")
    pairs, report = provenance_pairs(items, profile="strict")
    assert report.pairs == 3
    values = {
        (p["metadata"]["non_preferred"]["auth_weight"], p["metadata"]["non_preferred"]["prov_entropy"]) for p in pairs
    }
    assert len({p["non_preferred_output"][0]["content"] for p in pairs}) == 1 and len(values) == 1


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


def test_rules_prefer_the_answer_with_keywords_over_a_refusal() -> None:
    from services.scorer.preference_pairs import rules_pairs
    from shared.schemas.preference_pairs import PairRules

    rules = PairRules(required_keywords=["archive", "diary"], refusal_phrases=["I cannot"], min_length=20)
    items = read_candidates(
        _lines(
            {"prompt": "Where is it?", "candidates": ["I cannot help with that.", "The diary is in the archive."]},
            {"prompt": "Again?", "candidates": ["No idea at all, sorry.", "Nothing known, sorry."]},
        ),
        field_name="f",
    )
    pairs, report = rules_pairs(items, rules)
    assert (report.pairs, report.ties) == (1, 1)
    assert pairs[0]["preferred_output"][0]["content"] == "The diary is in the archive."
    assert pairs[0]["metadata"]["margin"] == 3.0 and pairs[0]["metadata"]["non_preferred"]["refusals"] == ["I cannot"]
    validate_training_record(pairs[0], preference=True)


def test_a_batch_output_joins_its_requests_prompts_by_custom_id() -> None:
    from services.scorer.preference_pairs import batch_candidates

    requests = _lines(
        {
            "custom_id": "a",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"messages": [{"role": "user", "content": "Q?"}]},
        },
        {"custom_id": "b", "method": "POST", "url": "/v1/completions", "body": {"prompt": "Once"}},
        {"custom_id": "c", "method": "POST", "url": "/v1/completions", "body": {"prompt": "Same"}},
    )
    choices = [
        {"index": i, "message": {"role": "assistant", "content": text}} for i, text in enumerate((PRIMARY, AUTHORITY))
    ]
    outputs = _lines(
        {"custom_id": "b", "response": {"status_code": 200, "body": {"choices": [{"text": "x"}, {"text": "y"}]}}},
        {"custom_id": "a", "response": {"status_code": 200, "body": {"choices": choices}}},
        {"custom_id": "c", "response": {"status_code": 200, "body": {"choices": [{"text": "z"}, {"text": "z"}]}}},
    )
    items = batch_candidates(requests, outputs, field_name="f")
    assert [(i.messages[0]["content"], i.answers) for i in items] == [
        ("Once", ["x", "y"]),
        ("Q?", [PRIMARY, AUTHORITY]),
    ]
    pairs, _ = provenance_pairs(items, profile="strict")
    assert any(p["preferred_output"][0]["content"] == PRIMARY for p in pairs)
    with pytest.raises(InvalidArgument, match="n >= 2"):
        batch_candidates(requests, outputs[2:], field_name="f")


def test_pair_options_name_what_is_wrong() -> None:
    from shared.schemas.preference_pairs import PairOptions

    for values, param in (
        ({"rule": "rules"}, "pairs.rules"),
        ({"rule": "provenance", "rules": {"min_length": 3}}, "pairs.rules"),
        ({"rule": "rules", "rules": {}}, "pairs.rules"),
        ({"rule": "manual", "requests_file_id": "file-1"}, "pairs.requests_file_id"),
    ):
        with pytest.raises(InvalidArgument) as caught:
            PairOptions.model_validate(values)
        assert caught.value.param == param, values
