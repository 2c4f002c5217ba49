"""Chat messages and function tools as the tokenizer's chat template takes them.

A template that knows tools (it reads a `tools` variable, as Qwen2.5's, Hermes' and Llama 3.1's do) renders
them itself, with the conversation's calls and results in its own format. Other templates (SmolLM2's) get
Hermes-style text: the tools described in the system message, earlier calls as `<tool_call>{…}</tool_call>`
blocks and a tool's answer as a `<tool_response>` in a user turn, which is also what the caller parses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

INSTRUCTIONS = (
    "You can call these functions. To call one, reply with only "
    '<tool_call>{{"name": <function name>, "arguments": <arguments object>}}</tool_call>, one block per call. '
    "Functions (JSON Schema of their arguments):\n{tools}"
)


@dataclass(frozen=True)
class ToolCall:
    """An earlier function call of the conversation; `arguments` is a JSON object's text."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass(frozen=True)
class FunctionTool:
    """A function the model may call."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)  # open data: a JSON Schema


class ChatMessage(TypedDict):
    """A chat message; assistant messages may carry calls, tool messages name the call they answer."""

    role: str
    content: str
    tool_calls: NotRequired[list[ToolCall]]
    tool_call_id: NotRequired[str]


TemplateInput = tuple[list[dict[str, Any]], list[dict[str, Any]] | None]  # open data: what jinja templates read


def knows_tools(template: object) -> bool:
    """Whether a chat template renders a `tools` list itself."""
    return isinstance(template, str) and "tools" in template


def template_input(messages: list[ChatMessage], tools: tuple[FunctionTool, ...], *, native: bool) -> TemplateInput:
    """The messages and `tools` argument for `apply_chat_template`, natively or as Hermes-style text."""
    if native:
        return [_native_message(m) for m in messages], [_native_tool(t) for t in tools] or None
    return _hermes_messages(messages, tools), None


def _arguments(call: ToolCall) -> object:
    try:
        return json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return call.arguments


def _native_message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message["role"], "content": message["content"]}
    if message.get("tool_calls"):
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _arguments(c)}}
            for c in message.get("tool_calls", [])
        ]
    if message.get("tool_call_id"):
        out["tool_call_id"] = message.get("tool_call_id")
    return out


def _native_tool(tool: FunctionTool) -> dict[str, Any]:
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": function}


def system_text(tools: tuple[FunctionTool, ...]) -> str:
    """The description of the tools that goes into the system message."""
    described = [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools]
    return INSTRUCTIONS.format(tools=json.dumps(described, indent=1))


def call_text(call: ToolCall) -> str:
    """An earlier call as the model would have written it."""
    return f"<tool_call>{json.dumps({'name': call.name, 'arguments': _arguments(call)})}</tool_call>"


def _hermes_messages(messages: list[ChatMessage], tools: tuple[FunctionTool, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        role, text = message["role"], message["content"]
        calls = message.get("tool_calls", [])
        if calls:
            text = "\n".join([text, *(call_text(c) for c in calls)]).strip()
        if role == "tool":
            role, text = "user", f"<tool_response>{text}</tool_response>"
        out.append({"role": role, "content": text})
    if tools:
        description = system_text(tools)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{description}"}
        else:
            out.insert(0, {"role": "system", "content": description})
    return out
