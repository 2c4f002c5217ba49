"""The training objective of the three distrust modes, over masked per-token cross-entropy (spec §3).

For one optimizer step made of micro-batches b, with N = Σ_{i in step} Σ_t m_it the loss tokens of the WHOLE
step (known before the step runs, since the masks are precomputed):

    weighted:  loss_b = Σ_{i in b} ω_i Σ_t m_it ce_it / N
    none:      the same with every ω_i = 1 (plain token CE)
    additive:  loss_b = Σ_{i in b} Σ_t m_it ce_it / N + λ · Σ_{i in b} L_i / n_step

Summing loss_b (and its gradient) over the micro-batches gives exactly the loss of the step taken as one
batch: Σ_i ω_i Σ_t m_it ce_it / Σ_i Σ_t m_it (and CE + λ · mean_step(L) for additive). Accumulation is
therefore token-weighted over the step, not an average of per-micro-batch means. In `additive` the λ term is
a constant of the data: it is inside the differentiated function, and its gradient is exactly zero, as in the
reference implementation (documented as gradient-free).
"""

from __future__ import annotations

import mlx.core as mx
import numpy as np
from mlx.nn.layers.base import Module
from mlx.nn.losses import cross_entropy

from services.trainer.core.data import Batch


def token_cross_entropy(logits: mx.array, targets: mx.array) -> mx.array:
    """Per-token CE in float32, shape of `targets`."""
    return cross_entropy(logits.astype(mx.float32), targets)


def objective(
    model: Module, tokens: mx.array, mask: mx.array, weights: mx.array, extra: mx.array, inv_tokens: mx.array
) -> tuple[mx.array, mx.array]:
    """(loss, ce) of one micro-batch, both already divided by the step's token count (`inv_tokens` = 1/N).

    `weights` are the per-example ω (ones for `none` and `additive`); `extra` is the additive constant share
    of this micro-batch (0 for the other modes). `loss` is what is differentiated; `ce` is the plain token CE
    of the same tokens, for reporting.
    """
    logits = model(tokens[:, :-1])
    ce = token_cross_entropy(logits, tokens[:, 1:]) * mask
    per_example = ce.sum(axis=1)
    ce_sum = per_example.sum() * inv_tokens
    loss = (per_example * weights).sum() * inv_tokens + extra
    return loss, ce_sum


def additive_share(mode: str, lambda_: float, distrust: np.ndarray, batch: Batch, n_step_examples: int) -> float:
    """The micro-batch's share of λ · mean_step(L) (0 unless mode is `additive`)."""
    if mode != "additive":
        return 0.0
    return float(lambda_ * np.sum(distrust[list(batch.indices)]) / n_step_examples)


def batch_loss(model: Module, batch: Batch, *, extra: float = 0.0) -> tuple[mx.array, mx.array]:
    """(loss, ce) of one batch taken as a whole step, with the factors in `batch.weights`."""
    return objective(
        model,
        mx.array(batch.tokens),
        mx.array(batch.mask),
        mx.array(batch.weights),
        mx.array(extra, dtype=mx.float32),
        mx.array(1.0 / batch.n_loss_tokens, dtype=mx.float32),
    )


def scalar(value: mx.array) -> float:
    """A one-element real array as a Python float."""
    item = value.item()
    if isinstance(item, complex):
        raise TypeError(f"expected a real scalar, got {item!r}")
    return float(item)
