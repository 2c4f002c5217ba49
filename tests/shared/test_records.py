from __future__ import annotations

import pytest

from shared.records import RecordError, parse_json_object, validate_training_record


@pytest.mark.parametrize(
    ("record", "shape"),
    [
        ({"text": "hello"}, "text"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, "chat"),
        ({"prompt": "q", "completion": "a", "auth_weight": 0.2, "prov_entropy": 6.1}, "completion"),
        ({"prompt": "q", "chosen": "a", "rejected": "b"}, "preference"),
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
