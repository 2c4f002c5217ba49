"""Function calling: which calls a reply must make, and the calls parsed out of the reply.

The inference service puts the tools in the prompt (the model's chat template when it knows tools, else
Hermes-style text); models reply with `<tool_call>{"name": …, "arguments": {…}}</tool_call>` blocks.

`tool_choice` "required" or a named function is enforced by constrained decoding: the reply must be JSON valid
against a schema of the allowed calls, so it is always a well-formed call to a defined function.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from services.gateway.schemas.tools import FunctionCall, NamedToolChoice, Tool, ToolCall, ToolChoice

BLOCK = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


def forced(tools: list[Tool], choice: ToolChoice | None) -> list[Tool]:
    """The tools a reply must call one of ("required" or a named function); empty when the model may answer."""
    if isinstance(choice, NamedToolChoice):
        return [t for t in tools if t.function.name == choice.function.name]
    return list(tools) if choice == "required" else []


def call_schema(tools: list[Tool]) -> dict[str, Any]:  # open data: a JSON Schema
    """A JSON Schema matched exactly by one call to one of `tools`."""
    options = [
        {
            "type": "object",
            "properties": {"name": {"const": t.function.name}, "arguments": t.function.parameters},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}


def _call(payload: object, names: set[str]) -> ToolCall | None:
    if not isinstance(payload, dict) or payload.get("name") not in names:
        return None
    # Llama 3.1's native format names them "parameters".
    arguments = payload.get("arguments", payload.get("parameters", {}))
    if not isinstance(arguments, dict):
        return None
    return ToolCall(
        id="call_" + secrets.token_hex(12),
        function=FunctionCall(name=str(payload["name"]), arguments=json.dumps(arguments)),
    )


def parse_calls(text: str, tools: list[Tool], *, constrained: bool, parallel: bool) -> list[ToolCall]:
    """The calls in a reply: the whole reply when decoding was constrained, else its `<tool_call>` blocks."""
    names = {t.function.name for t in tools}
    if constrained:
        try:
            found = [_call(json.loads(text), names)]
        except json.JSONDecodeError:
            return []  # cut by max_tokens: no complete call
    else:
        found = []
        # Templates without tag conventions (Llama 3.1's) have the model reply with the bare JSON call.
        blocks = BLOCK.findall(text) or ([text.strip()] if text.strip().startswith("{") else [])
        for block in blocks:
            try:
                found.append(_call(json.loads(block), names))
            except json.JSONDecodeError:
                continue
    calls = [c for c in found if c is not None]
    return calls if parallel else calls[:1]
