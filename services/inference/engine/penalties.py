"""OpenAI's logit adjustments per row: frequency and presence penalties, `logit_bias`, and `min_p` (extension).

Penalties count the tokens a row has generated (OpenAI's definition: frequency subtracts penalty × count, presence
subtracts penalty once a token has appeared); `logit_bias` adds its value to a token's logit (-100 bans it, 100
all but forces it); `min_p` drops tokens less likely than `min_p` × the most likely one. Only rows that ask pay:
a batch with none of these skips the module entirely.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import mlx.core as mx
import numpy as np

from shared.errors import invalid_field

MAX_PENALTY = 2.0
MAX_BIAS = 100.0


@dataclass(frozen=True)
class Adjustments:
    """One request's adjustments; the defaults change nothing."""

    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    logit_bias: dict[int, float] = field(default_factory=dict, compare=False)
    min_p: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.frequency_penalty or self.presence_penalty or self.logit_bias or self.min_p)

    def check(self, vocab: int) -> None:
        """InvalidArgument naming the first value out of its range (token ids against the vocabulary)."""
        for name in ("frequency_penalty", "presence_penalty"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > MAX_PENALTY:
                raise invalid_field(name, value, f"a number in [-{MAX_PENALTY:g}, {MAX_PENALTY:g}]")
        for token, bias in self.logit_bias.items():
            if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token < vocab:
                raise invalid_field("logit_bias", token, f"token ids in [0, {vocab})")
            if not isinstance(bias, int | float) or not -MAX_BIAS <= bias <= MAX_BIAS:
                raise invalid_field(f"logit_bias.{token}", bias, f"a number in [-{MAX_BIAS:g}, {MAX_BIAS:g}]")
        if not isinstance(self.min_p, int | float) or not 0.0 <= self.min_p <= 1.0:
            raise invalid_field("min_p", self.min_p, "a number in [0, 1]")


@dataclass
class RowPenalties:
    """A row's adjustments and the counts of the tokens it has generated so far."""

    adjustments: Adjustments
    counts: Counter[int] = field(default_factory=Counter)


def adjust(logits: mx.array, rows: list[RowPenalties | None]) -> mx.array:
    """`logits` [B, V] with each row's penalties and bias applied; rows without adjustments unchanged."""
    batch, vocab = logits.shape
    delta = np.zeros((batch, vocab), dtype=np.float32)
    for i, row in enumerate(rows):
        if row is None:
            continue
        a = row.adjustments
        if row.counts and (a.frequency_penalty or a.presence_penalty):
            tokens = np.fromiter(row.counts.keys(), dtype=np.int64)
            counts = np.fromiter(row.counts.values(), dtype=np.float32)
            delta[i, tokens] -= a.frequency_penalty * counts + a.presence_penalty
        for token, bias in a.logit_bias.items():
            delta[i, token] += bias
    adjusted = logits.astype(mx.float32) + mx.array(delta)
    min_p = np.array([[0.0 if row is None else row.adjustments.min_p] for row in rows], dtype=np.float32)
    if not min_p.any():
        return adjusted
    logprobs = adjusted - mx.logsumexp(adjusted, axis=-1, keepdims=True)
    floor = logprobs.max(axis=-1, keepdims=True) + mx.log(mx.array(np.maximum(min_p, 1e-30)))
    return mx.where((mx.array(min_p) > 0) & (logprobs < floor), -mx.inf, adjusted)
