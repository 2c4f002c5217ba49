"""Chat completions: the request and OpenAI's ChatCompletion and ChatCompletionChunk bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.completions import (
    CompletionUsage,
    ResponseFormatJSONObject,
    SamplingRequest,
)
from services.gateway.schemas.tools import ChoiceDeltaToolCall, NamedToolChoice, Tool, ToolCall, ToolChoice
from services.retrieval.context import Citation
from shared.errors import InvalidArgument
from shared.schemas.request import RequestModel
from shared.schemas.vector_stores import RetrievalOptions

ChatFinishReason = Literal["stop", "length", "tool_calls"]


class ContentPart(RequestModel):
    """A text part of a message's content."""

    type: Literal["text"]
    text: str


class ChatMessage(RequestModel):
    """One message of the conversation; content is a string or a list of text parts.

    An assistant message may carry the tool calls it made (and no content); a `tool` message answers the call
    named by `tool_call_id`.
    """

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The content as one string."""
        if self.content is None:
            return ""
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class ChatCompletionRequest(SamplingRequest):
    """A chat completion request: the model's chat template is applied to the messages."""

    messages: list[ChatMessage]
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # Ours: search vector stores and put the best chunks before the messages (services/retrieval/context.py).
    retrieval: RetrievalOptions | None = None

    @property
    def top_logprob_count(self) -> int | None:
        """`top_logprobs` when `logprobs` is true; None when logprobs were not asked for."""
        return (self.top_logprobs or 0) if self.logprobs else None

    def prompt_texts(self) -> Sequence[str | Sequence[int]]:
        return [m.text() for m in self.messages]

    @property
    def calls_tools(self) -> bool:
        """Whether the reply may be tool calls."""
        return bool(self.tools) and self.tool_choice != "none"

    def check_supported(self) -> None:
        """As for completions; the conversation's tool calls and results; `json_object` only when asked for JSON."""
        super().check_supported()
        if self.top_logprobs is not None and not self.logprobs:
            raise InvalidArgument("top_logprobs: only with logprobs true", param="top_logprobs")
        self._check_tools()
        self._check_conversation()
        if isinstance(self.response_format, ResponseFormatJSONObject) and not any(
            "json" in message.text().lower() for message in self.messages
        ):
            raise InvalidArgument(
                "messages: must contain the word 'json' in some form to use 'response_format' of type 'json_object'",
                param="messages",
            )

    def _check_tools(self) -> None:
        names = [tool.function.name for tool in self.tools or []]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"tools: function names must be unique, got {names}", param="tools")
        if self.tool_choice is not None and self.tool_choice != "none" and not names:
            raise InvalidArgument("tool_choice: only allowed when tools are given", param="tool_choice")
        if isinstance(self.tool_choice, NamedToolChoice) and self.tool_choice.function.name not in names:
            raise InvalidArgument(
                f"tool_choice: function {self.tool_choice.function.name!r} is not among the tools {names}",
                param="tool_choice.function.name",
            )
        if self.calls_tools and self.response_format is not None and self.response_format.type != "text":
            raise InvalidArgument(
                "response_format: not with tools (set tool_choice 'none' to get structured text)",
                param="response_format",
            )

    def _check_conversation(self) -> None:
        called: set[str] = set()
        for i, message in enumerate(self.messages):
            if message.tool_calls and message.role != "assistant":
                raise InvalidArgument(
                    f"messages[{i}].tool_calls: only on assistant messages", param=f"messages[{i}].tool_calls"
                )
            called |= {call.id for call in message.tool_calls or []}
            if message.role == "tool":
                if message.tool_call_id is None or message.tool_call_id not in called:
                    raise InvalidArgument(
                        f"messages[{i}].tool_call_id: {message.tool_call_id!r} answers no tool call of an earlier "
                        "assistant message",
                        param=f"messages[{i}].tool_call_id",
                    )
            elif message.tool_call_id is not None:
                raise InvalidArgument(
                    f"messages[{i}].tool_call_id: only on tool messages", param=f"messages[{i}].tool_call_id"
                )
            if message.content is None and not message.tool_calls:
                raise InvalidArgument(f"messages[{i}].content: required", param=f"messages[{i}].content")


class TopLogprob(BaseModel):
    """An alternative token with its log-probability and UTF-8 bytes."""

    token: str
    logprob: float
    bytes: list[int] | None


class ChatTokenLogprob(TopLogprob):
    """A generated token, its log-probability and the most likely alternatives at its position."""

    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(BaseModel):
    """The logprobs of a choice's (or a chunk's) content tokens."""

    content: list[ChatTokenLogprob] | None
    refusal: None = None


class ChatCompletionMessage(BaseModel):
    """The assistant's reply."""

    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: None = None
    tool_calls: list[ToolCall] | None = Field(default=None, exclude_if=lambda value: value is None)


class Choice(BaseModel):
    """One reply (choice `index` of `n`) of a chat completion."""

    index: int = 0
    message: ChatCompletionMessage
    logprobs: ChoiceLogprobs | None = None
    finish_reason: ChatFinishReason


class ChatCompletion(BaseModel):
    """OpenAI's chat completion."""

    id: str
    created: int
    model: str
    system_fingerprint: None = None
    object: Literal["chat.completion"] = "chat.completion"
    usage: CompletionUsage
    choices: list[Choice]
    # Ours, with `retrieval`: the chunks the model was given.
    citations: list[Citation] | None = Field(default=None, exclude_if=lambda value: value is None)


class ChoiceDelta(BaseModel):
    """What a chunk adds to the reply: the role first, then pieces of content; empty on the last chunk."""

    role: Literal["assistant"] | None = Field(default=None, exclude_if=lambda value: value is None)
    content: str | None = Field(default=None, exclude_if=lambda value: value is None)
    tool_calls: list[ChoiceDeltaToolCall] | None = Field(default=None, exclude_if=lambda value: value is None)


class ChunkChoice(BaseModel):
    """A streamed piece of reply `index`."""

    index: int = 0
    delta: ChoiceDelta
    logprobs: ChoiceLogprobs | None = None
    finish_reason: ChatFinishReason | None = None


class ChatCompletionChunk(BaseModel):
    """OpenAI's streamed chat completion chunk; only the usage chunk (last, when asked for) carries `usage`."""

    id: str
    created: int
    model: str
    system_fingerprint: None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = Field(default=None, exclude_if=lambda value: value is None)
    citations: list[Citation] | None = Field(default=None, exclude_if=lambda value: value is None)  # the last chunk's
