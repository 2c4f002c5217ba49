"""Function calling in OpenAI's shapes: tool definitions and choice in a request, tool calls in a reply."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def _no_arguments() -> dict[str, object]:
    return {"type": "object", "properties": {}}


class FunctionDefinition(BaseModel):
    """A function the model may call: its name, what it does, and its arguments' JSON Schema."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, object] = Field(default_factory=_no_arguments)  # open data: a JSON Schema
    strict: bool | None = None


class Tool(BaseModel):
    """A tool of the request; OpenAI's only kind is a function."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    function: FunctionDefinition


class FunctionName(BaseModel):
    """The function a named tool choice forces."""

    model_config = ConfigDict(extra="forbid")
    name: str


class NamedToolChoice(BaseModel):
    """`tool_choice` naming one function: the reply is a call to it."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    function: FunctionName


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class FunctionCall(BaseModel):
    """The function called and its arguments as a JSON string (OpenAI's encoding)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    arguments: str


class ToolCall(BaseModel):
    """One call in an assistant message (the model's reply, or an earlier turn sent back)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChoiceDeltaToolCall(BaseModel):
    """A streamed tool call (sent whole, in one chunk)."""

    index: int
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall
