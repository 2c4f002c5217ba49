"""One optimizer step: micro-batch gradients summed, clipped by global norm, applied once, in a compiled function.

Accumulation: each micro-batch's loss is divided by N, the loss-token count of the whole step (see
`losses.py`); gradients are summed over the micro-batches, clipped by global norm, and applied once. So
batch_size 2 × accumulation 2 gives the same update as batch_size 4 × accumulation 1, and the loss of a step is
Σ_i ω_i Σ_t m_it ce_it / Σ_i Σ_t m_it over all of its examples.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import mlx.core as mx
import mlx.optimizers as optim
from mlx.nn.layers.base import Module
from mlx.utils import tree_map

from services.trainer.core.data import Batch
from services.trainer.core.losses import scalar
from services.trainer.core.schedule import clip_gradients, flatten

LossAndGrad = Callable[..., Any]  # mlx's value_and_grad(model, objective): ((loss, ce), gradient tree)


def compile_step(
    model: Module, optimizer: optim.Optimizer, loss_and_grad: LossAndGrad, *, max_norm: float
) -> tuple[Callable[..., Any], list[Any]]:
    """(step function, the state it reads and writes): evaluate that state after each call.

    The function takes one micro-batch and the gradient so far; on the step's last micro-batch (`do_update`) it
    clips and applies the summed gradient and returns its norm, otherwise it returns the gradient so far.
    """
    state = [model.state, optimizer.state, mx.random.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def step(
        tokens: mx.array,
        mask: mx.array,
        weights: mx.array,
        extra: mx.array,
        inv_tokens: mx.array,
        prev_grad: Any,  # the gradient tree so far, or None
        do_update: bool,
    ) -> tuple[mx.array, mx.array, mx.array, Any]:
        (loss, ce), grad = loss_and_grad(model, tokens, mask, weights, extra, inv_tokens)
        if prev_grad is not None:
            grad = tree_map(lambda a, b: a + b, grad, prev_grad)
        if do_update:
            grad, norm = clip_gradients(grad, max_norm)
            optimizer.update(model, grad)
            return loss, ce, norm, None
        return loss, ce, mx.array(0.0), grad

    return step, state


def compile_apply(model: Module, optimizer: optim.Optimizer, *, max_norm: float) -> Callable[[Any], mx.array]:
    """A compiled update from a gradient summed elsewhere (over ranks): clip by global norm, apply; the norm."""
    state = [model.state, optimizer.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def apply(grad: Any) -> mx.array:
        grad, norm = clip_gradients(grad, max_norm)
        optimizer.update(model, grad)
        return norm

    return apply


def summed_gradients(
    model: Module, loss_and_grad: LossAndGrad, batches: list[Batch], extras: list[float]
) -> tuple[float, float, dict[str, mx.array]]:
    """(loss, ce, flattened summed gradient) of one step's micro-batches, without clipping or updating anything."""
    inv = mx.array(1.0 / sum(b.n_loss_tokens for b in batches), dtype=mx.float32)
    total: dict[str, mx.array] = {}
    loss_sum, ce_sum = 0.0, 0.0
    for batch, extra in zip(batches, extras, strict=True):
        (loss, ce), grad = loss_and_grad(
            model,
            mx.array(batch.tokens),
            mx.array(batch.mask),
            mx.array(batch.weights),
            mx.array(extra, dtype=mx.float32),
            inv,
        )
        for name, g in flatten(grad):
            total[name] = total[name] + g if name in total else g
        mx.eval(loss, ce, total)
        loss_sum += scalar(loss)
        ce_sum += scalar(ce)
    return loss_sum, ce_sum, total
