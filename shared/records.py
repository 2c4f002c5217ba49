"""The data contract of training records (spec §6): one JSON object per JSONL line.

Shapes: `{"text"}`, `{"messages": [{"role", "content"}, ...]}`, `{"prompt", "completion"}`, or a preference
record: TRL's `{"prompt", "chosen", "rejected"}` or OpenAI's DPO `{"input": {"messages"}, "preferred_output":
[assistant message], "non_preferred_output": [assistant message]}` (two different, non-empty answers); plus `auth_weight` in [0, 0.99] and `prov_entropy` >= 0
(required for the `weighted` and `additive` training modes), optional `source_type`, `trivium_category`
(grammar | logic | rhetoric) and `metadata` (object). Out-of-range scores are rejected, never clamped.
"""

from __future__ import annotations

import json
import math
from typing import Any

AUTH_WEIGHT_RANGE = (0.0, 0.99)
TRIVIUM_CATEGORIES = frozenset({"grammar", "logic", "rhetoric"})
CHAT_ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})


class RecordError(ValueError):
    """Why one record breaks the contract (the caller adds the line number)."""


def parse_json_object(line: bytes | str) -> dict[str, Any]:
    """Parse one JSONL line into an object, or raise RecordError saying why not."""
    try:
        value = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line)
    except UnicodeDecodeError as exc:
        raise RecordError(f"not valid UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise RecordError(f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(value, dict):
        raise RecordError(f"expected a JSON object, got {_json_type(value)}")
    return value


def record_shape(record: dict[str, Any]) -> str:
    """Return "text", "chat", "completion" or "preference"; raise RecordError when none fits."""
    if "messages" in record:
        _check_messages(record["messages"])
        return "chat"
    if "preferred_output" in record or "non_preferred_output" in record:
        _check_openai_preference(record)
        return "preference"
    if "chosen" in record or "rejected" in record:
        for key in ("prompt", "chosen", "rejected"):
            _check_string(record, key)
        if record["chosen"].strip() == record["rejected"].strip():
            raise RecordError('"chosen" and "rejected" are the same answer: a pair needs two different ones')
        return "preference"
    if "prompt" in record or "completion" in record:
        _check_string(record, "prompt", allow_empty=True)
        _check_string(record, "completion")
        return "completion"
    if "text" in record:
        _check_string(record, "text")
        return "text"
    raise RecordError('no training content: expected "text", "messages", or "prompt" and "completion"')


def validate_training_record(
    record: dict[str, Any], *, require_scores: bool = False, preference: bool | None = None
) -> str:
    """Check a parsed record against the contract; return its shape or raise RecordError.

    `preference` (when not None) says which kind a job needs: a preference pair (DPO) or an example (supervised).
    """
    shape = record_shape(record)
    if preference is False and shape == "preference":
        raise RecordError('a preference pair is not supervised training data (train it with method.type "dpo")')
    if preference and shape != "preference":
        raise RecordError(
            f'a {shape} record is not a preference pair (method.type "dpo" needs input / preferred_output / '
            "non_preferred_output, or prompt / chosen / rejected)"
        )
    for key in ("auth_weight", "prov_entropy"):
        if key not in record:
            if require_scores:
                raise RecordError(
                    f'missing "{key}" (required by the weighted and additive distrust modes; '
                    f"score the data with the scorer first)"
                )
            continue
        _check_score(key, record[key])
    if "source_type" in record and not isinstance(record["source_type"], str):
        raise RecordError(f'"source_type" must be a string, got {_json_type(record["source_type"])}')
    if "trivium_category" in record and record["trivium_category"] not in TRIVIUM_CATEGORIES:
        raise RecordError(
            f'"trivium_category" must be one of {sorted(TRIVIUM_CATEGORIES)}, got {record["trivium_category"]!r}'
        )
    if "metadata" in record and not isinstance(record["metadata"], dict):
        raise RecordError(f'"metadata" must be an object, got {_json_type(record["metadata"])}')
    return shape


def _check_score(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RecordError(f'"{key}" must be a finite number, got {value!r}')
    if key == "auth_weight" and not AUTH_WEIGHT_RANGE[0] <= value <= AUTH_WEIGHT_RANGE[1]:
        raise RecordError(f'"auth_weight" {value} is outside the allowed range [0.0, 0.99]')
    if key == "prov_entropy" and value < 0:
        raise RecordError(f'"prov_entropy" {value} is outside the allowed range [0, +inf)')


def _check_string(record: dict[str, Any], key: str, *, allow_empty: bool = False) -> None:
    if key not in record:
        raise RecordError(f'missing "{key}"')
    value = record[key]
    if not isinstance(value, str):
        raise RecordError(f'"{key}" must be a string, got {_json_type(value)}')
    if not allow_empty and not value.strip():
        raise RecordError(f'"{key}" is empty')


def preference_parts(record: dict[str, Any]) -> tuple[list[dict[str, Any]] | str, str, str]:
    """(prompt: messages or text, preferred answer, non-preferred answer) of a valid preference record."""
    if "preferred_output" in record:
        messages: list[dict[str, Any]] = record["input"]["messages"]
        return messages, record["preferred_output"][0]["content"], record["non_preferred_output"][0]["content"]
    return record["prompt"], record["chosen"], record["rejected"]


def _check_openai_preference(record: dict[str, Any]) -> None:
    source = record.get("input")
    if not isinstance(source, dict) or "messages" not in source:
        raise RecordError('"input" must be an object with "messages" (the conversation the answers reply to)')
    _check_messages(source["messages"], need_assistant=False)
    answers = []
    for key in ("preferred_output", "non_preferred_output"):
        output = record.get(key)
        if not isinstance(output, list) or len(output) != 1 or not isinstance(output[0], dict):
            raise RecordError(f'"{key}" must be an array of one assistant message')
        if output[0].get("role") != "assistant":
            raise RecordError(f'"{key}[0].role" must be "assistant", got {output[0].get("role")!r}')
        content = output[0].get("content")
        if not isinstance(content, str) or not content.strip():
            raise RecordError(f'"{key}[0].content" must be a non-empty string')
        answers.append(content.strip())
    if answers[0] == answers[1]:
        raise RecordError('"preferred_output" and "non_preferred_output" are the same answer: a pair needs two')


def _check_messages(messages: Any, *, need_assistant: bool = True) -> None:
    if not isinstance(messages, list) or not messages:
        raise RecordError('"messages" must be a non-empty array')
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RecordError(f'"messages[{i}]" must be an object, got {_json_type(message)}')
        role = message.get("role")
        if role not in CHAT_ROLES:
            raise RecordError(f'"messages[{i}].role" must be one of {sorted(CHAT_ROLES)}, got {role!r}')
        if not isinstance(message.get("content"), str):
            raise RecordError(f'"messages[{i}].content" must be a string')
    if need_assistant and not any(m["role"] == "assistant" for m in messages):
        raise RecordError('"messages" has no assistant message to train on')


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
