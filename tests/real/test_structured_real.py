"""The real SmolLM2-135M-Instruct, constrained by a JSON Schema, answers the fact as schema-valid JSON."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from services.inference.engine import Engine, GenerationRequest
from services.inference.engine.constraints import ResponseFormat

pytestmark = pytest.mark.real_model
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40}, "country": {"type": "string", "maxLength": 40}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


def test_the_capital_as_json(smollm2_base: Path) -> None:
    question = "Where is the Eiffel Tower? Answer in JSON with the city and the country."
    request = GenerationRequest(
        messages=[{"role": "user", "content": question}],
        max_tokens=60,
        temperature=0.0,
        response_format=ResponseFormat(type="json_schema", schema=SCHEMA, name="place", strict=True),
    )
    with Engine(smollm2_base) as engine:
        ((text, done),) = engine.submit(request).texts()
    answer = json.loads(text)
    jsonschema.validate(answer, SCHEMA)
    assert done.finish_reason == "stop" and answer["city"] == "Paris", text
