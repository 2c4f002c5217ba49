"""Embeddings from a served base (or base + adapter): final hidden states mean-pooled over the input's tokens.

A causal LM has no [CLS] token; the last token's state mostly predicts the next word, while the mean over every
token (after the model's final norm) describes the whole text, so that is the pooling (L2-normalised, like
OpenAI's vectors). Inputs are right-padded into batches: with causal attention a token never sees the padding
after it, so a batched vector equals the one computed alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import mlx.core as mx

from services.inference.engine.multi_lora import MultiLoRAModel, plan_for
from shared.errors import FailedPrecondition, invalid_field

BATCH_TOKEN_BUDGET = 8192  # padded tokens per forward pass


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
    vectors: list[mx.array | None] = [None] * len(rows)
    for group in _batches(rows):
        width = len(rows[group[0]])
        tokens = mx.array([rows[i] + [0] * (width - len(rows[i])) for i in group], dtype=mx.int32)
        lengths = mx.array([len(rows[i]) for i in group], dtype=mx.float32)
        lora.route(plan_for([adapter] * len(group)))
        hidden = transformer(tokens).astype(mx.float32)
        real = (mx.arange(width)[None, :] < lengths[:, None])[..., None]
        pooled = mx.where(real, hidden, 0.0).sum(axis=1) / lengths[:, None]
        mx.eval(pooled)
        for k, i in enumerate(group):
            vectors[i] = pooled[k]
    stacked = mx.stack([v for v in vectors if v is not None])
    return normalize(stacked)


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
