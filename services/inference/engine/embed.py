"""Embeddings from a served base (or base + adapter): final hidden states mean-pooled over the input's tokens.

A causal LM has no [CLS] token; the last token's state mostly predicts the next word, while the mean over every
token (after the model's final norm) describes the whole text, so that is the pooling (L2-normalised, like
OpenAI's vectors). Inputs are right-padded into batches: with causal attention a token never sees the padding
after it, so a batched vector equals the one computed alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mlx.core as mx

from services.inference.engine.multi_lora import MultiLoRAModel, plan_for
from shared.errors import FailedPrecondition, InvalidArgument, invalid_field

BATCH_TOKEN_BUDGET = 8192  # padded tokens per forward pass
MAX_EMBEDDING_INPUTS = 2048  # OpenAI's limit per request


def embedding_rows(
    inputs: Sequence[str | Sequence[int]], encode: Callable[[str], list[int]], vocab: int | None, context_length: int
) -> list[list[int]]:
    """Each input's token ids (texts encoded); InvalidArgument naming `input` or `input[i]` when one is bad."""
    if isinstance(inputs, str) or not isinstance(inputs, Sequence) or not inputs:
        raise invalid_field("input", inputs, "a non-empty list of texts or of token-id lists")
    if len(inputs) > MAX_EMBEDDING_INPUTS:
        raise invalid_field("input", f"{len(inputs)} inputs", f"at most {MAX_EMBEDDING_INPUTS} inputs")
    rows: list[list[int]] = []
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            ids = encode(item) if item else []
        else:
            ids = list(item)
            if any(isinstance(t, bool) or not isinstance(t, int) or t < 0 or (vocab and t >= vocab) for t in ids):
                raise invalid_field(f"input[{i}]", ids[:16], f"token ids in [0, {vocab})")
        if not ids:
            raise invalid_field(f"input[{i}]", item, "a non-empty text or token-id list")
        if len(ids) > context_length:
            raise InvalidArgument(
                f"input[{i}]: {len(ids)} tokens, expected at most the model's context length of {context_length}",
                param=f"input[{i}]",
                code="context_length_exceeded",
            )
        rows.append(ids)
    return rows


def token_spans(tokenizer: Any, text: str) -> list[tuple[int, int]]:
    """The character span of each of `text`'s tokens, no special tokens; `tokenizer` is a `tokenizers.Tokenizer`."""
    return [(int(start), int(end)) for start, end in tokenizer.encode(text, add_special_tokens=False).offsets]


def pooled_rows(rows: Sequence[list[int]], states: Callable[[mx.array], mx.array]) -> mx.array:
    """[len(rows), width] unit vectors: `states` of each padded batch of rows, mean-pooled over the real tokens."""
    vectors: list[mx.array | None] = [None] * len(rows)
    for group in _batches(rows):
        width = len(rows[group[0]])
        tokens = mx.array([rows[i] + [0] * (width - len(rows[i])) for i in group], dtype=mx.int32)
        lengths = mx.array([len(rows[i]) for i in group], dtype=mx.float32)
        hidden = states(tokens).astype(mx.float32)
        real = (mx.arange(width)[None, :] < lengths[:, None])[..., None]
        pooled = mx.where(real, hidden, 0.0).sum(axis=1) / lengths[:, None]
        mx.eval(pooled)
        for k, i in enumerate(group):
            vectors[i] = pooled[k]
    return normalize(mx.stack([v for v in vectors if v is not None]))


def _batches(rows: Sequence[list[int]]) -> list[list[int]]:
    """Row indices grouped so that each group's padded size stays within the budget, longest first."""
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
    groups: list[list[int]] = []
    for i in order:
        if groups and len(rows[groups[-1][0]]) * (len(groups[-1]) + 1) <= BATCH_TOKEN_BUDGET:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def embed_rows(lora: MultiLoRAModel, rows: Sequence[list[int]], adapter: tuple[int, float] | None) -> mx.array:
    """[len(rows), hidden] float32 unit vectors; on the scheduler thread (the only one running the model)."""
    transformer = getattr(lora.model, "model", None)  # mlx-lm's models keep the stack, final norm included, here
    if transformer is None:
        raise FailedPrecondition("model: this architecture does not expose its hidden states for embeddings")

    def states(tokens: mx.array) -> mx.array:
        lora.route(plan_for([adapter] * tokens.shape[0]))
        hidden: mx.array = transformer(tokens)
        return hidden

    return pooled_rows(rows, states)


def normalize(vectors: mx.array) -> mx.array:
    """Each row scaled to unit length."""
    return vectors / mx.maximum(mx.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def check_dimensions(dimensions: int | None, size: int) -> None:
    """InvalidArgument unless `dimensions` is None or in [1, size]."""
    if dimensions is None:
        return
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or not 1 <= dimensions <= size:
        raise invalid_field("dimensions", dimensions, f"an integer in [1, {size}] (this model's embedding size)")


def truncate(vectors: mx.array, dimensions: int | None) -> mx.array:
    """The first `dimensions` components, normalised again (OpenAI's `dimensions`); None keeps them all."""
    check_dimensions(dimensions, vectors.shape[-1])
    if dimensions is None or dimensions == vectors.shape[-1]:
        return vectors
    return normalize(vectors[:, :dimensions])
