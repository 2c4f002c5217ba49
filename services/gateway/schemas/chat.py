"""Chat completions: the request and OpenAI's ChatCompletion and ChatCompletionChunk bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.schemas.completions import (
    CompletionUsage,
    FinishReason,
    ResponseFormatJSONObject,
    SamplingRequest,
)
from shared.errors import InvalidArgument


class ContentPart(BaseModel):
    """A text part of a message's content."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    """One message of the conversation; content is a string or a list of text parts."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart]

    def text(self) -> str:
        """The content as one string."""
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class ChatCompletionRequest(SamplingRequest):
    """A chat completion request: the model's chat template is applied to the messages."""

    messages: list[ChatMessage]

    def check_supported(self) -> None:
        """As for completions; and, like OpenAI, `json_object` only when a message asks for JSON."""
        super().check_supported()
        if isinstance(self.response_format, ResponseFormatJSONObject) and not any(
            "json" in message.text().lower() for message in self.messages
        ):
            raise InvalidArgument(
                "messages: must contain the word 'json' in some form to use 'response_format' of type 'json_object'",
                param="messages",
            )


class ChatCompletionMessage(BaseModel):
    """The assistant's reply."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    """One reply (choice `index` of `n`) of a chat completion."""

    index: int = 0
    message: ChatCompletionMessage
    logprobs: None = None
    finish_reason: FinishReason


class ChatCompletion(BaseModel):
    """OpenAI's chat completion."""

    id: str
    created: int
    model: str
    system_fingerprint: None = None
    object: Literal["chat.completion"] = "chat.completion"
    usage: CompletionUsage
    choices: list[Choice]


class ChoiceDelta(BaseModel):
    """What a chunk adds to the reply: the role first, then pieces of content; empty on the last chunk."""

    role: Literal["assistant"] | None = Field(default=None, exclude_if=lambda value: value is None)
    content: str | None = Field(default=None, exclude_if=lambda value: value is None)


class ChunkChoice(BaseModel):
    """A streamed piece of reply `index`."""

    index: int = 0
    delta: ChoiceDelta
    logprobs: None = None
    finish_reason: FinishReason | None = None


class ChatCompletionChunk(BaseModel):
    """OpenAI's streamed chat completion chunk; only the usage chunk (last, when asked for) carries `usage`."""

    id: str
    created: int
    model: str
    system_fingerprint: None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = Field(default=None, exclude_if=lambda value: value is None)
