"""Text completions: the request, its sampling options (shared with chat), and OpenAI's Completion bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.schemas.common import UINT32_MAX, Identifier, UInt32, estimate_tokens
from shared.errors import InvalidArgument, shown
from shared.schemas.request import RequestModel

FinishReason = Literal["stop", "length"]


class StreamOptions(RequestModel):
    """Streaming options: `include_usage` adds a last chunk that carries the token counts."""

    include_usage: bool = False


class JSONSchema(RequestModel):
    """OpenAI's `response_format.json_schema`: a named schema the output must validate against."""

    model_config = ConfigDict(populate_by_name=True)
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, object] = Field(alias="schema")  # open data: a JSON Schema
    strict: bool | None = None


class ResponseFormatText(RequestModel):
    """Free text (the default)."""

    type: Literal["text"]


class ResponseFormatJSONObject(RequestModel):
    """Any JSON object."""

    type: Literal["json_object"]


class ResponseFormatJSONSchema(RequestModel):
    """JSON valid against `json_schema.schema`, by constrained decoding."""

    type: Literal["json_schema"]
    json_schema: JSONSchema


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema, Field(discriminator="type")
]


class SamplingRequest(RequestModel):
    """What chat and text completions share: the model, sampling, and streaming."""

    # An option this server does not implement is a 400 naming it, never silently dropped.
    model: Identifier
    max_tokens: UInt32 | None = None
    max_completion_tokens: UInt32 | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = Field(default=None, ge=-(2**63), le=2**64 - 1, description="int64 or uint64")
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=UINT32_MAX)
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = Field(
        default=None, description="Token id (as a string) -> bias in [-100, 100]"
    )
    min_p: float | None = Field(
        default=None, ge=0, le=1, description="Extension: drop tokens below min_p x the top one"
    )
    user: str | None = Field(default=None, description="Your end user's id; accepted, not used")
    metadata: dict[str, str] | None = Field(
        default=None, max_length=16, description="Accepted, not stored (no `store`)"
    )

    def check_supported(self) -> None:
        """Refuse what the field types cannot: combinations of options. `n`'s cap is the inference service's."""

    def prompt_texts(self) -> Sequence[str | Sequence[int]]:
        """What the prompt is made of, for the rate limits' token estimate."""
        raise NotImplementedError

    def estimated_tokens(self) -> int:
        """The tokens a rate limit charges at admission: the prompt's estimate plus every choice's limit."""
        return estimate_tokens(self.prompt_texts()) + self.n * (self.token_limit or 0)

    @property
    def seed_int64(self) -> int | None:
        """`seed` as the contract's int64; seeds count modulo 2**64, so a uint64 seed wraps to the same one."""
        return self.seed if self.seed is None or self.seed < 2**63 else self.seed - 2**64

    @property
    def token_limit(self) -> int | None:
        """The newer `max_completion_tokens` wins over `max_tokens`; 0 is a value (echo only), not "unset"."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def token_bias(self) -> dict[int, float]:
        """`logit_bias` with its keys as token ids; a key that is no integer is a 400 naming it."""
        bias: dict[int, float] = {}
        for key, value in (self.logit_bias or {}).items():
            if not key.isdigit() or int(key) > UINT32_MAX:
                raise InvalidArgument(f"logit_bias: key {shown(key)} is not a token id", param="logit_bias")
            bias[int(key)] = value
        return bias

    @property
    def stop_sequences(self) -> list[str]:
        """`stop` as a list, whether it was sent as one string or several."""
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    @property
    def include_usage(self) -> bool:
        """Whether a stream ends with a usage chunk."""
        return bool(self.stream_options and self.stream_options.include_usage)


class CompletionRequest(SamplingRequest):
    """A text completion request: the prompt is used as is, with no chat template.

    `prompt` takes OpenAI's four forms: a text, texts, token ids, or lists of token ids; several prompts give
    `n` choices each, indexed in prompt order.
    """

    prompt: str | list[str] | list[UInt32] | list[list[UInt32]]
    echo: bool = False
    logprobs: int | None = Field(default=None, ge=0, le=20, description="Report this many alternatives per token")

    @property
    def top_logprob_count(self) -> int | None:
        """`logprobs` (legacy completions: the number of alternatives)."""
        return self.logprobs

    def prompt_texts(self) -> Sequence[str | Sequence[int]]:
        return self.prompts()

    def prompts(self) -> list[str] | list[list[int]]:
        """The prompt(s) as a list of texts or of token-id lists."""
        value = self.prompt
        if isinstance(value, str):
            return [value]
        if value and all(isinstance(item, int) for item in value):
            return [[item for item in value if isinstance(item, int)]]
        return value  # type: ignore[return-value]  # the remaining forms are lists of texts or of id lists

    def check_supported(self) -> None:
        """As for every request; and at least one prompt, and `max_tokens` 0 only with `echo`."""
        super().check_supported()
        if not self.prompts() or any(len(p) == 0 for p in self.prompts()):
            raise InvalidArgument("prompt: expected a non-empty prompt (or list of non-empty prompts)", param="prompt")
        if self.token_limit == 0 and not self.echo:
            raise InvalidArgument("max_tokens: 0 is only allowed with echo", param="max_tokens")


class CompletionUsage(BaseModel):
    """Token counts of one generation."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int) -> CompletionUsage:
        """Usage with its total."""
        return cls(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )


class CompletionLogprobs(BaseModel):
    """Legacy completions' logprobs: parallel lists over the tokens (the prompt's first, with `echo`)."""

    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    """Choice `index`'s generated text; in a stream, a piece of it (and the finish reason on its last piece)."""

    index: int = 0
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: FinishReason | None = Field(description="Set on the whole text, and on a stream's last chunk")


class Completion(BaseModel):
    """OpenAI's text completion, and each of its streamed chunks."""

    id: str
    created: int
    model: str
    object: Literal["text_completion"] = "text_completion"
    usage: CompletionUsage | None = Field(default=None, exclude_if=lambda value: value is None)
    choices: list[CompletionChoice]
