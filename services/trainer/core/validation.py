"""Validation loss: mean token cross-entropy over held-out examples, masked as in training."""

from __future__ import annotations

import mlx.core as mx
import numpy as np
from mlx.nn.layers.base import Module

from services.trainer.core.data import Example, make_batch
from services.trainer.core.losses import scalar, token_cross_entropy


def validation_loss(
    model: Module, examples: list[Example], *, batch_size: int, pad_id: int, max_seq_length: int
) -> float:
    """Mean token CE (masked, completion-only as in training) over `examples`; the model's mode is kept."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].tokens))
    ones = np.ones(len(examples), dtype=np.float32)
    total = mx.array(0.0)
    count = 0
    for j in range(0, len(order), batch_size):
        batch = make_batch(examples, order[j : j + batch_size], ones, pad_id=pad_id, max_seq_length=max_seq_length)
        tokens = mx.array(batch.tokens)
        ce = token_cross_entropy(model(tokens[:, :-1]), tokens[:, 1:]) * mx.array(batch.mask)
        total = total + ce.sum()
        count += batch.n_loss_tokens
        mx.eval(total)
    model.train(was_training)
    return scalar(total) / count
