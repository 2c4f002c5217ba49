"""Tool calls parsed out of a reply: Hermes `<tool_call>` blocks, a bare JSON call, or a constrained reply."""

from __future__ import annotations

import json

from services.gateway.schemas.tools import Tool
from services.gateway.tools import parse_calls

TOOLS = [Tool.model_validate({"type": "function", "function": {"name": "get_weather"}})]


def _calls(text: str, *, constrained: bool = False, parallel: bool = True) -> list[tuple[str, object]]:
    calls = parse_calls(text, TOOLS, constrained=constrained, parallel=parallel)
    return [(c.function.name, json.loads(c.function.arguments)) for c in calls]


def test_hermes_blocks() -> None:
    text = 'Sure.<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n<tool_call>'
    text += '{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>'
    assert _calls(text) == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
    assert _calls(text, parallel=False) == [("get_weather", {"city": "Paris"})]


def test_a_bare_call_with_llama_parameters() -> None:
    assert _calls(' {"name": "get_weather", "parameters": {"city": "Oslo"}}') == [("get_weather", {"city": "Oslo"})]


def test_unknown_functions_and_prose_are_no_calls() -> None:
    assert _calls('<tool_call>{"name": "launch", "arguments": {}}</tool_call>') == []
    assert _calls("It is sunny in Paris.") == []
    assert _calls('{"name": "get_weather", "arguments"', constrained=True) == []  # cut by max_tokens
