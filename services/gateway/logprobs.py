"""Token logprobs in OpenAI's two shapes: chat's `logprobs.content` and legacy completions' parallel lists."""

from __future__ import annotations

from collections.abc import Sequence

from services.gateway.inference_client import Logprob
from services.gateway.schemas.chat import ChatTokenLogprob, ChoiceLogprobs, TopLogprob
from services.gateway.schemas.completions import CompletionLogprobs


def _bytes(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def chat_logprobs(tokens: Sequence[Logprob]) -> ChoiceLogprobs:
    """Chat's shape: each token with its bytes and its top alternatives."""
    return ChoiceLogprobs(
        content=[
            ChatTokenLogprob(
                token=t.text,
                logprob=t.logprob if t.logprob is not None else 0.0,
                bytes=_bytes(t.text),
                top_logprobs=[TopLogprob(token=text, logprob=v, bytes=_bytes(text)) for _, text, v in t.top],
            )
            for t in tokens
        ]
    )


def completion_logprobs(tokens: Sequence[Logprob], offset: int = 0) -> CompletionLogprobs:
    """Completions' shape; `text_offset` counts characters from `offset` (where these tokens' text starts)."""
    offsets = []
    for t in tokens:
        offsets.append(offset)
        offset += len(t.text)
    return CompletionLogprobs(
        tokens=[t.text for t in tokens],
        token_logprobs=[t.logprob for t in tokens],
        top_logprobs=[None if t.logprob is None else {text: v for _, text, v in t.top} for t in tokens],
        text_offset=offsets,
    )
