"""Function calling in the chat template's plain messages: tools described in the system message, calls parsed out.

Calls are written as Hermes-style `<tool_call>{"name": …, "arguments": {…}}</tool_call>` blocks (most chat
templates know no tools, SmolLM2's included), and a tool's answer as a `<tool_response>` in a user turn.

`tool_choice` "required" or a named function is enforced by constrained decoding: the reply must be JSON valid
against a schema of the allowed calls, so it is always a well-formed call to a defined function.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from services.gateway.schemas.chat import ChatCompletionRequest
from services.gateway.schemas.tools import FunctionCall, NamedToolChoice, Tool, ToolCall, ToolChoice

BLOCK = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)
INSTRUCTIONS = (
    "You can call these functions. To call one, reply with only "
    '<tool_call>{{"name": <function name>, "arguments": <arguments object>}}</tool_call>, one block per call. '
    "Functions (JSON Schema of their arguments):\n{tools}"
)


@dataclass(frozen=True)
class Message:
    """A message as the model's chat template takes it."""

    role: str
    content: str


def forced(tools: list[Tool], choice: ToolChoice | None) -> list[Tool]:
    """The tools a reply must call one of ("required" or a named function); empty when the model may answer."""
    if isinstance(choice, NamedToolChoice):
        return [t for t in tools if t.function.name == choice.function.name]
    return list(tools) if choice == "required" else []


def system_text(tools: list[Tool]) -> str:
    """The description of the tools that goes into the system message."""
    described = [
        {"name": t.function.name, "description": t.function.description or "", "parameters": t.function.parameters}
        for t in tools
    ]
    return INSTRUCTIONS.format(tools=json.dumps(described, indent=1))


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


def call_text(call: ToolCall) -> str:
    """An earlier call of the conversation as the model would have written it."""
    arguments = json.loads(call.function.arguments or "{}")
    return f"<tool_call>{json.dumps({'name': call.function.name, 'arguments': arguments})}</tool_call>"


def result_text(content: str) -> str:
    """A tool's answer as it is shown to the model."""
    return f"<tool_response>{content}</tool_response>"


def _call(payload: object, names: set[str]) -> ToolCall | None:
    if not isinstance(payload, dict) or payload.get("name") not in names:
        return None
    arguments = payload.get("arguments", {})
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
        for block in BLOCK.findall(text):
            try:
                found.append(_call(json.loads(block), names))
            except json.JSONDecodeError:
                continue
    calls = [c for c in found if c is not None]
    return calls if parallel else calls[:1]


def render(request: ChatCompletionRequest) -> list[Message]:
    """The conversation as plain role/content messages: tools in the system message, calls and results as text.

    "developer" becomes "system" (OpenAI's newer name for it, which chat templates do not know).
    """
    messages: list[Message] = []
    for message in request.messages:
        role = "system" if message.role == "developer" else message.role
        text = message.text()
        if message.tool_calls:
            text = "\n".join([text, *(call_text(call) for call in message.tool_calls)]).strip()
        if role == "tool":
            role, text = "user", result_text(text)
        messages.append(Message(role, text))
    if request.calls_tools and request.tools:
        description = system_text(request.tools)
        if messages and messages[0].role == "system":
            messages[0] = Message("system", f"{messages[0].content}\n\n{description}")
        else:
            messages.insert(0, Message("system", description))
    return messages
