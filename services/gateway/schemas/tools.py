"""Function calling in OpenAI's shapes: tool definitions and choice in a request, tool calls in a reply."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.schemas.request import RequestModel


def _no_arguments() -> dict[str, object]:
    return {"type": "object", "properties": {}}


class FunctionDefinition(RequestModel):
    """A function the model may call: its name, what it does, and its arguments' JSON Schema."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, object] = Field(default_factory=_no_arguments)  # open data: a JSON Schema
    strict: bool | None = None


class Tool(RequestModel):
    """A tool of the request; OpenAI's only kind is a function."""

    type: Literal["function"]
    function: FunctionDefinition


class FunctionName(RequestModel):
    """The function a named tool choice forces."""

    name: str


class NamedToolChoice(RequestModel):
    """`tool_choice` naming one function: the reply is a call to it."""

    type: Literal["function"]
    function: FunctionName


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class FunctionCall(RequestModel):
    """The function called and its arguments as a JSON string (OpenAI's encoding)."""

    name: str
    arguments: str


class ToolCall(RequestModel):
    """One call in an assistant message (the model's reply, or an earlier turn sent back)."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChoiceDeltaToolCall(BaseModel):
    """A streamed tool call (sent whole, in one chunk)."""

    index: int
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall
