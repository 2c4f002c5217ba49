"""Training settings for a model on a machine: the largest sensible ones whose memory estimate fits."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from services.trainer.models.inspect import ModelInfo
from services.trainer.system.hardware import Hardware
from services.trainer.system.memory import (
    GB,
    MemoryEstimate,
    check_fits,
    estimate_training_memory,
    memory_budget,
)
from shared.errors import invalid_field

BATCH_SIZES = (8, 4, 2, 1)
RANKS = (16, 8, 4)
MAX_LORA_LAYERS = 16  # mlx-lm's default: the top blocks carry most of what fine-tuning changes
EFFECTIVE_BATCH = 8  # gradient accumulation tops a smaller batch up to this many sequences per update


@dataclass(frozen=True)
class Recommendation:
    """Training settings that fit the memory budget, with the estimate that shows they do."""

    batch_size: int
    lora_rank: int
    lora_layers: int
    grad_accumulation: int
    dtype: str  # "float32" (MLX on a CPU is fastest in it) or "bfloat16" (Apple GPU)
    seq_len: int
    budget_bytes: int
    estimate: MemoryEstimate
    reason: str

    def to_dict(self) -> dict[str, Any]:
        settings = {k: v for k, v in asdict(self).items() if k != "estimate"}
        return {**settings, "estimate": self.estimate.to_dict()}


def training_dtype(hardware: Hardware) -> tuple[str, int]:
    """(dtype, bytes per value) to train in on this machine."""
    if hardware.metal_available and hardware.mlx_device == "gpu":
        return "bfloat16", 2
    return "float32", 4


def _layer_options(num_layers: int) -> list[int]:
    top = min(num_layers, MAX_LORA_LAYERS)
    return sorted({top, *(n for n in (8, 4, 2, 1) if n < top)}, reverse=True)


def _preference(candidate: tuple[int, int, int]) -> tuple[int, bool, int, int]:
    """Most blocks first, then a rank of at least 8, then the batch; rank 16 only where it costs no batch."""
    layers, rank, batch = candidate
    return -layers, rank < 8, -batch, -rank


def recommend(info: ModelInfo, hardware: Hardware, *, seq_len: int = 512, fraction: float = 0.8) -> Recommendation:
    """The preferred settings (see `_preference`) whose estimate passes `check_fits` against the budget.

    Raises ResourceExhausted when even batch 1, rank 4 on one block does not fit, and InvalidArgument for a
    `seq_len` beyond the model's context.
    """
    if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 1:
        raise invalid_field("max_seq_length", seq_len, "a positive integer")
    if info.context_length and seq_len > info.context_length:
        raise invalid_field("max_seq_length", seq_len, f"at most the model's context length {info.context_length}")
    dtype, dtype_bytes = training_dtype(hardware)
    budget = memory_budget(hardware, fraction)
    candidates = sorted(itertools.product(_layer_options(info.num_layers), RANKS, BATCH_SIZES), key=_preference)
    for layers, rank, batch in candidates:
        estimate = estimate_training_memory(
            info, lora_rank=rank, lora_layers=layers, batch_size=batch, seq_len=seq_len, dtype_bytes=dtype_bytes
        )
        if estimate.total_bytes <= budget:
            break
    check_fits(estimate, budget)  # the last (smallest) candidate failed too: explain with its numbers
    accumulation = max(1, EFFECTIVE_BATCH // estimate.batch_size)
    chosen = (estimate.lora_layers, estimate.lora_rank, estimate.batch_size)
    limited = "" if chosen == candidates[0] else " (the largest that fits)"
    reason = (
        f"batch {estimate.batch_size} x {accumulation} accumulation steps, LoRA rank "
        f"{estimate.lora_rank} on {estimate.lora_layers} of {info.num_layers} blocks in {dtype}"
        f"{limited}: about {estimate.total_bytes / GB:.2f} GB of the {budget / GB:.2f} GB budget "
        f"at {seq_len} tokens"
    )
    return Recommendation(
        batch_size=estimate.batch_size,
        lora_rank=estimate.lora_rank,
        lora_layers=estimate.lora_layers,
        grad_accumulation=accumulation,
        dtype=dtype,
        seq_len=seq_len,
        budget_bytes=budget,
        estimate=estimate,
        reason=reason,
    )
