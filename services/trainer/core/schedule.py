"""Optimizer (AdamW), learning-rate schedule (linear warmup, then cosine decay) and gradient clipping.

With s the 0-based index of the update (mlx's optimizer counter), W the warmup steps and T the total steps:

    s < W:   lr(s) = lr · (s + 1) / W                        (the first update already moves, the W-th is at lr)
    s >= W:  lr(s) = lr · ½ · (1 + cos(π · (s − W) / (T − W)))   (lr at s = W, decaying towards 0 at s = T)

W = 0 is pure cosine; W >= T is pure warmup. `learning_rate_at` (Python floats) and `make_schedule` (mlx
arrays, used inside the compiled step) compute the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import mlx.core as mx
import mlx.optimizers as optim
from mlx.utils import tree_flatten, tree_map

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def learning_rate_at(step_index: int, *, peak: float, warmup: int, total: int) -> float:
    """The learning rate of update number `step_index` (0-based)."""
    if step_index < warmup:
        return peak * (step_index + 1) / warmup
    span = max(total - warmup, 1)
    progress = min(max(step_index - warmup, 0) / span, 1.0)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_schedule(*, peak: float, warmup: int, total: int) -> Callable[[mx.array], mx.array]:
    """The schedule as a function of mlx's update counter (see the module docstring)."""
    span = float(max(total - warmup, 1))
    warm = float(max(warmup, 1))

    def schedule(step: mx.array) -> mx.array:
        s = step.astype(mx.float32)
        warming = peak * (s + 1.0) / warm
        progress = mx.clip((s - warmup) / span, 0.0, 1.0)
        decaying = peak * 0.5 * (1.0 + mx.cos(math.pi * progress))
        return mx.where(s < warmup, warming, decaying)

    return schedule


def build_optimizer(*, learning_rate: float, warmup: int, total: int, weight_decay: float) -> optim.AdamW:
    """AdamW on the schedule."""
    return optim.AdamW(
        learning_rate=make_schedule(peak=learning_rate, warmup=warmup, total=total),
        betas=list(ADAM_BETAS),
        eps=ADAM_EPS,
        weight_decay=weight_decay,
    )


def flatten(tree: Any) -> list[tuple[str, mx.array]]:  # any nesting of arrays
    """The arrays of an mlx tree with their dotted names (mlx-lm's parameter names)."""
    # tree_flatten returns a list unless given a dict to fill; its annotation allows both.
    return cast(list[tuple[str, mx.array]], tree_flatten(tree))


def global_norm(grads: Any) -> mx.array:  # any nesting of arrays
    """The L2 norm of all gradients together, in float32."""
    total = mx.array(0.0, dtype=mx.float32)
    for _, g in flatten(grads):
        total = total + mx.sum(mx.square(g.astype(mx.float32)))
    return mx.sqrt(total)


def clip_gradients(grads: Any, max_norm: float) -> tuple[Any, mx.array]:  # any nesting of arrays
    """Scale the gradients so their global L2 norm is at most `max_norm` (0 = no clipping).

    Returns the (possibly scaled) gradients and the norm BEFORE clipping.
    """
    norm = global_norm(grads)
    if max_norm <= 0:
        return grads, norm
    factor = mx.minimum(max_norm / (norm + 1e-6), 1.0)
    return tree_map(lambda g: g * factor.astype(g.dtype), grads), norm
