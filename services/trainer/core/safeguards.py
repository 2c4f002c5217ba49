"""Stopping a run cleanly before it goes wrong: a loss that is not finite, memory close to the worker's budget.

Both raise typed errors the job runner turns into a failed job with a message naming what to change. Memory is
checked after a completed step (its state is good, so the runner checkpoints it first); a non-finite loss stops
before the step is counted, and the checkpoints stored before it are the ones to resume from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mlx.core as mx

from shared.errors import DistrustError, ResourceExhausted

GB = 1e9
MEMORY_GUARD_FRACTION = 0.9  # stop at 90 % of the budget: the next step's peak may be a little higher


class LossNotFinite(DistrustError):
    """The loss or the gradient norm became NaN or infinite: training diverged."""

    default_code = "loss_not_finite"


class MemoryBudgetReached(ResourceExhausted):
    """A step's peak memory came close to the worker's budget; the run stops before the OS kills it."""

    default_code = "memory_budget_reached"


@dataclass(frozen=True)
class MemoryReading:
    """MLX's memory after a step, in bytes."""

    peak: int
    active: int

    @classmethod
    def now(cls) -> MemoryReading:
        return cls(peak=int(mx.get_peak_memory()), active=int(mx.get_active_memory()))


def check_finite(step: int, loss: float, grad_norm: float, learning_rate: float) -> None:
    """Raise LossNotFinite when the step's loss or gradient norm is NaN or infinite."""
    if math.isfinite(loss) and math.isfinite(grad_norm):
        return
    raise LossNotFinite(
        f"training diverged at step {step}: loss={loss}, gradient norm={grad_norm}; lower the learning rate (now "
        f"{learning_rate:g}) or max_grad_norm, or train in float32; the last good checkpoint is kept"
    )


def check_memory(step: int, reading: MemoryReading, budget_bytes: int | None, settings: str) -> None:
    """Raise MemoryBudgetReached when the peak passed `MEMORY_GUARD_FRACTION` of the budget.

    `settings` lists the run's current values of what can be lowered, for the message.
    """
    if budget_bytes is None or reading.peak <= MEMORY_GUARD_FRACTION * budget_bytes:
        return
    raise MemoryBudgetReached(
        f"training stopped at step {step}: peak memory {reading.peak / GB:.2f} GB is over "
        f"{MEMORY_GUARD_FRACTION:.0%} of the worker's memory budget ({budget_bytes / GB:.2f} GB); a checkpoint "
        f"is kept. Lower batch_size, max_seq_length, precision or quantize_base, or turn on "
        f"gradient_checkpointing (now {settings})"
    )
