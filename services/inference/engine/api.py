"""The engine's request and stream types, and the checks a request passes before it is queued."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from services.inference.engine.chat import ChatMessage, FunctionTool
from services.inference.engine.constraints import ResponseFormat
from services.inference.engine.penalties import Adjustments
from shared.errors import invalid_field

FinishReason = Literal["stop", "length", "cancelled"]
# "batch" requests (the Batch API's) wait behind interactive ones and fill their own share of the decode batch.
Priority = Literal["interactive", "batch"]
PRIORITIES: tuple[Priority, ...] = ("interactive", "batch")

MAX_STOP_SEQUENCES = 4
MAX_TOP_LOGPROBS = 20  # OpenAI's cap on top_logprobs
MAX_TEMPERATURE = 2.0
# Seeds are taken modulo 2**64, so any int64 or uint64 a client sends is accepted.
MIN_SEED, MAX_SEED = -(2**63), 2**64 - 1
# Choices per request unless the engine is given another cap (the inference settings' `max_n`).
DEFAULT_MAX_N = 16


@dataclass(frozen=True)
class GenerationRequest:
    """One completion: a raw `prompt` or chat `messages` (exactly one), run on the base or a loaded adapter."""

    prompt: str | list[int] | None = None  # text, or token ids used as they are
    messages: list[ChatMessage] | None = None
    adapter: str | None = None
    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    request_id: str = ""
    # Choices sharing one prefill; choice i samples with seed + i (mod 2**64), so each is reproducible alone.
    n: int = 1
    response_format: ResponseFormat = ResponseFormat()
    # Log-probabilities of each generated token and of the `logprobs` most likely ones (None: not reported).
    logprobs: int | None = None
    adjustments: Adjustments = Adjustments()  # penalties, logit_bias, min_p
    tools: tuple[FunctionTool, ...] = ()  # described in the prompt; chat messages only
    priority: Priority = "interactive"


@dataclass(frozen=True)
class TokenLogprob:
    """A token, its text, its log-probability and the most likely alternatives (id, text, log-probability)."""

    token: int
    text: str
    logprob: float | None  # None for a prompt's first token, which has no context
    top: tuple[tuple[int, str, float], ...] = ()


@dataclass(frozen=True)
class Delta:
    """A chunk of generated text of choice `index`; a choice's chunks concatenate to its completion.

    With logprobs asked for, `logprobs` holds the entries of the tokens generated since the previous chunk.
    """

    text: str
    index: int = 0
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class Done:
    """The last item of a stream. `completion_tokens` counts every sampled token, the eos token included."""

    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    index: int = 0  # the choice; a request with n choices ends after n Done items, one per index


@dataclass(frozen=True)
class Embeddings:
    """One unit vector per input, in order, and the tokens the inputs took."""

    vectors: list[list[float]]
    prompt_tokens: int


@dataclass(frozen=True)
class TokenSpans:
    """A text's tokens as character spans (`text[start:end]`), and the most tokens one input may have."""

    spans: list[tuple[int, int]]
    context_length: int


def validate_request(request: GenerationRequest, max_n: int = DEFAULT_MAX_N) -> None:
    """Raise InvalidArgument naming the first field with a bad value; the prompt's length is checked later."""
    if not isinstance(request, GenerationRequest):
        raise invalid_field("request", type(request).__name__, "a GenerationRequest")
    _check_input(request)
    if request.adapter is not None and (not isinstance(request.adapter, str) or not request.adapter):
        raise invalid_field("adapter", request.adapter, "a loaded adapter's name, or None for the base model")
    if not _is_int(request.max_tokens) or request.max_tokens < 1:
        raise invalid_field("max_tokens", request.max_tokens, "an integer >= 1")
    if request.logprobs is not None and (
        not _is_int(request.logprobs) or not 0 <= request.logprobs <= MAX_TOP_LOGPROBS
    ):
        raise invalid_field("top_logprobs", request.logprobs, f"an integer in [0, {MAX_TOP_LOGPROBS}]")
    _check_sampling(request)
    _check_stop(request.stop)
    if not _is_int(request.n) or not 1 <= request.n <= max_n:
        raise invalid_field("n", request.n, f"an integer in [1, {max_n}]")
    if not isinstance(request.request_id, str):
        raise invalid_field("request_id", request.request_id, "a string")
    if request.priority not in PRIORITIES:
        raise invalid_field("priority", request.priority, f"one of {', '.join(PRIORITIES)}")


def _check_sampling(request: GenerationRequest) -> None:
    if not _is_number(request.temperature) or not 0.0 <= request.temperature <= MAX_TEMPERATURE:
        raise invalid_field("temperature", request.temperature, f"a number in [0, {MAX_TEMPERATURE:g}]")
    if not _is_number(request.top_p) or not 0.0 < request.top_p <= 1.0:
        raise invalid_field("top_p", request.top_p, "a number in (0, 1]")
    if request.seed is not None and (not _is_int(request.seed) or not MIN_SEED <= request.seed <= MAX_SEED):
        raise invalid_field("seed", request.seed, "an integer (int64 or uint64) or None")


def _check_input(request: GenerationRequest) -> None:
    if request.prompt is None and request.messages is None:
        raise invalid_field("messages", None, "chat messages or a prompt (exactly one of them)")
    if request.prompt is not None and request.messages is not None:
        raise invalid_field("prompt", request.prompt, "no prompt when messages are given (exactly one of them)")
    if request.prompt is not None:
        _check_prompt(request.prompt)
        if request.tools:
            raise invalid_field("tools", [t.name for t in request.tools], "no tools with a raw prompt (chat only)")
        return
    messages = request.messages
    if not isinstance(messages, list | tuple) or not messages:
        raise invalid_field("messages", messages, "a non-empty list of {role, content} messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid_field(f"messages[{i}]", message, "a {role, content} mapping")
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or not role:
            raise invalid_field(f"messages[{i}].role", role, "a non-empty string such as 'user'")
        if not isinstance(content, str):
            raise invalid_field(f"messages[{i}].content", content, "a string")


def _check_prompt(prompt: object) -> None:
    if isinstance(prompt, list):
        if not prompt or not all(_is_int(t) and t >= 0 for t in prompt):
            raise invalid_field("prompt", prompt[:16], "a non-empty list of token ids")
    elif not isinstance(prompt, str) or not prompt:
        raise invalid_field("prompt", prompt, "a non-empty string or list of token ids")


def _check_stop(stop: tuple[str, ...]) -> None:
    if not isinstance(stop, tuple | list):
        raise invalid_field("stop", stop, f"a list of at most {MAX_STOP_SEQUENCES} non-empty strings")
    if len(stop) > MAX_STOP_SEQUENCES:
        raise invalid_field("stop", list(stop), f"at most {MAX_STOP_SEQUENCES} stop sequences")
    for i, item in enumerate(stop):
        if not isinstance(item, str) or not item:
            raise invalid_field(f"stop[{i}]", item, "a non-empty string")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) and math.isfinite(value)
