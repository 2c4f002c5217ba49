"""Structured outputs inside the batched step: constrained rows always give JSON valid against their schema, mixed
with free, adapter and seeded rows that stay exactly as they are without the constrained ones."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import pytest

from services.inference.engine import Engine, GenerationRequest
from services.inference.engine.constraints import SCHEMA_FIELD, ResponseFormat
from shared.errors import InvalidArgument
from tests.inference.engine.streams import collect

PROMPT = "Describe the weather as JSON:"
SCHEMA = {
    "type": "object",
    "properties": {
        "sunny": {"type": "boolean"},
        "hours": {"type": "integer", "minimum": 0, "maximum": 24},
        "colour": {"enum": ["red", "blue", "grey"]},
    },
    "required": ["sunny", "hours", "colour"],
    "additionalProperties": False,
}
SCHEMA_FORMAT = ResponseFormat(type="json_schema", schema=SCHEMA, name="weather", strict=True)


def _free(adapter: str | None = None, seed: int | None = None) -> GenerationRequest:
    temperature = 0.0 if seed is None else 0.8
    return GenerationRequest(prompt=PROMPT, adapter=adapter, max_tokens=24, temperature=temperature, seed=seed)


def test_constrained_rows_give_valid_json_and_leave_their_neighbours_alone(engine: Engine) -> None:
    alone = [collect(engine.submit(r)).text for r in (_free(), _free("a"), _free(seed=5))]
    requests = [
        GenerationRequest(prompt=PROMPT, max_tokens=80, temperature=0.0, response_format=SCHEMA_FORMAT),
        _free(),
        GenerationRequest(
            prompt=PROMPT, adapter="b", max_tokens=80, temperature=0.9, seed=3, response_format=SCHEMA_FORMAT
        ),
        _free("a"),
        GenerationRequest(prompt=PROMPT, max_tokens=80, temperature=1.0, n=3, response_format=SCHEMA_FORMAT),
        _free(seed=5),
        GenerationRequest(
            prompt=PROMPT, max_tokens=120, temperature=1.0, response_format=ResponseFormat(type="json_object")
        ),
    ]
    with ThreadPoolExecutor(len(requests)) as pool:
        handles = [engine.submit(r) for r in requests]
        results = list(pool.map(lambda handle: handle.texts(), handles))
    assert [results[1][0][0], results[3][0][0], results[5][0][0]] == alone
    constrained = [*results[0], *results[2], *results[4]]
    assert len(constrained) == 5
    for text, done in constrained:
        assert done.finish_reason == "stop", (text, done)
        jsonschema.validate(json.loads(text), SCHEMA)
    assert results[0][0][0] == collect(engine.submit(requests[0])).text  # greedy: the same alone as batched
    text, done = results[6][0]
    assert text.startswith("{")
    if done.finish_reason == "stop":  # random weights may fill a free-form object past max_tokens
        assert isinstance(json.loads(text), dict)


def test_a_schema_the_engine_cannot_compile_is_refused_before_generating(engine: Engine) -> None:
    bad = ResponseFormat(type="json_schema", schema={"type": "object", "properties": {"a": {"type": "nonsense"}}})
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(GenerationRequest(prompt=PROMPT, max_tokens=8, response_format=bad))
    assert caught.value.param == SCHEMA_FIELD
    assert engine.active_requests() == 0
