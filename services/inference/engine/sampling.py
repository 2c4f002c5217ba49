"""Sampling a batch of rows in one graph, each row with its own temperature, top-p and random stream.

Each row owns a PRNG key (from its seed, or random). Every step that samples splits each row's key with a
vmapped split and draws Gumbel noise with a vmapped draw, so a row's k-th token depends only on its own seed
and logits, never on the other rows: a seeded request gives the same tokens alone or batched.
Sampling is Gumbel-max: argmax(logprobs / T + g) draws from softmax(logits / T). Temperature 0 is argmax.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import mlx.core as mx

_split_keys = mx.vmap(mx.random.split)


@dataclass(frozen=True)
class RowSampling:
    """One row's sampling settings: temperature (0 is greedy), top-p and an optional seed."""

    temperature: float
    top_p: float
    seed: int | None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def initial_key(self) -> mx.array:
        seed = secrets.randbits(64) if self.seed is None else self.seed % 2**64
        return mx.random.key(seed)


@dataclass(frozen=True)
class BatchSampling:
    """Per-row parameters as arrays, rebuilt when the batch's rows change."""

    inv_temp: mx.array | None  # [B, 1]; None when every row is greedy
    sampled: mx.array | None  # [B, 1] bool: rows that draw noise
    top_p: mx.array | None  # [B, 1]; None when no row uses top-p

    @staticmethod
    def of(rows: Sequence[RowSampling]) -> BatchSampling:
        any_sampled = any(not r.greedy for r in rows)
        any_top_p = any(not r.greedy and r.top_p < 1.0 for r in rows)
        inv_temp = sampled = top_p = None
        if any_sampled:
            inv_temp = mx.array([[1.0 if r.greedy else 1.0 / r.temperature] for r in rows], dtype=mx.float32)
            sampled = mx.array([[not r.greedy] for r in rows])
        if any_top_p:
            top_p = mx.array([[1.0 if r.greedy else r.top_p] for r in rows], dtype=mx.float32)
        return BatchSampling(inv_temp=inv_temp, sampled=sampled, top_p=top_p)


def sample(logits: mx.array, params: BatchSampling, keys: mx.array) -> tuple[mx.array, mx.array]:
    """Tokens [B] for logits [B, V], and the rows' advanced keys [B, 2]."""
    logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    if params.top_p is not None:
        logprobs = apply_top_p(logprobs, params.top_p)
    if params.inv_temp is None or params.sampled is None:
        return mx.argmax(logprobs, axis=-1), keys
    pairs = _split_keys(keys)
    keys, draw = pairs[:, 0], pairs[:, 1]
    noise = _gumbel_rows(logprobs.shape[-1])(draw)
    scores = mx.where(params.sampled, logprobs * params.inv_temp + noise, logprobs)
    return mx.argmax(scores, axis=-1), keys


def apply_top_p(logprobs: mx.array, top_p: mx.array) -> mx.array:
    """mlx-lm's nucleus filter with one threshold per row; rows with top_p 1 are left exactly as they are."""
    sorted_logprobs = mx.sort(logprobs, axis=-1)
    sorted_probs = mx.exp(sorted_logprobs.astype(mx.float32))
    mass_above = mx.cumsum(sorted_probs, axis=-1, reverse=True, inclusive=False)
    total_mass = mass_above[..., :1] + sorted_probs[..., :1]
    num_dropped = (mass_above >= top_p * total_mass).sum(axis=-1, keepdims=True)
    threshold = mx.take_along_axis(sorted_logprobs, num_dropped, axis=-1)
    filtered = mx.where(logprobs < threshold, -mx.inf, logprobs)
    return mx.where(top_p >= 1.0, logprobs, filtered)


@lru_cache(maxsize=8)
def _gumbel_rows(vocab: int) -> Callable[[mx.array], mx.array]:
    return mx.vmap(lambda key: mx.random.gumbel(shape=(vocab,), key=key))


def initial_keys(rows: Sequence[RowSampling]) -> mx.array:
    """The starting PRNG keys of `rows`, one per row, stacked."""
    return mx.stack([r.initial_key() for r in rows])
