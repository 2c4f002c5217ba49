from __future__ import annotations

import pytest

from shared.records import RecordError, parse_json_object, preference_parts, validate_training_record

OPENAI_PAIR = {
    "input": {"messages": [{"role": "user", "content": "q"}]},
    "preferred_output": [{"role": "assistant", "content": "a"}],
    "non_preferred_output": [{"role": "assistant", "content": "b"}],
}


@pytest.mark.parametrize(
    ("record", "shape"),
    [
        ({"text": "hello"}, "text"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, "chat"),
        ({"prompt": "q", "completion": "a", "auth_weight": 0.2, "prov_entropy": 6.1}, "completion"),
        ({"prompt": "q", "chosen": "a", "rejected": "b"}, "preference"),
        (
            {
                "input": {"messages": [{"role": "user", "content": "q"}]},
                "preferred_output": [{"role": "assistant", "content": "a"}],
                "non_preferred_output": [{"role": "assistant", "content": "b"}],
            },
            "preference",
        ),
    ],
)
def test_valid_shapes(record: dict, shape: str) -> None:
    assert validate_training_record(record) == shape


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"txt": "x"}, "no training content"),
        ({"text": ""}, '"text" is empty'),
        ({"text": 3}, "must be a string"),
        ({"text": "x", "auth_weight": 1.2}, "outside the allowed range [0.0, 0.99]"),
        ({"text": "x", "auth_weight": True}, "finite number"),
        ({"text": "x", "prov_entropy": -0.1}, "outside the allowed range"),
        ({"text": "x", "trivium_category": "poetry"}, "trivium_category"),
        ({"text": "x", "metadata": []}, '"metadata" must be an object'),
        ({"messages": [{"role": "user", "content": "q"}]}, "no assistant message"),
        ({"messages": [{"role": "robot", "content": "q"}]}, "messages[0].role"),
        ({"prompt": "q", "chosen": "same", "rejected": " same"}, "the same answer"),
        ({"prompt": "q", "chosen": "", "rejected": "b"}, '"chosen" is empty'),
        ({**OPENAI_PAIR, "input": {"text": "q"}}, '"input" must be an object with "messages"'),
        ({**OPENAI_PAIR, "preferred_output": []}, '"preferred_output" must be an array of one assistant message'),
        (
            {**OPENAI_PAIR, "non_preferred_output": [{"role": "user", "content": "b"}]},
            '"non_preferred_output[0].role" must be "assistant"',
        ),
        ({**OPENAI_PAIR, "preferred_output": [{"role": "assistant", "content": " "}]}, "must be a non-empty string"),
        ({**OPENAI_PAIR, "non_preferred_output": [{"role": "assistant", "content": "a"}]}, "the same answer"),
    ],
)
def test_invalid_records_say_why(record: dict, reason: str) -> None:
    with pytest.raises(RecordError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        validate_training_record(record)


def test_scores_required_for_distrust_modes() -> None:
    with pytest.raises(RecordError, match='missing "auth_weight"'):
        validate_training_record({"text": "x"}, require_scores=True)


@pytest.mark.parametrize(("line", "reason"), [(b"{", "invalid JSON"), (b"[1]", "got an array"), (b"\xff\xfe", "UTF-8")])
def test_parse_errors(line: bytes, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        parse_json_object(line)


def test_both_preference_shapes_give_their_parts() -> None:
    assert preference_parts(OPENAI_PAIR) == ([{"role": "user", "content": "q"}], "a", "b")
    assert preference_parts({"prompt": "q", "chosen": "a", "rejected": "b"}) == ("q", "a", "b")
