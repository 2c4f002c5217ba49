"""Training settings for a model on a machine: the largest sensible ones whose memory estimate fits."""

from __future__ import annotations

import itertools
from typing import get_args

from pydantic import ValidationError

from services.trainer.models.inspect import ModelInfo
from services.trainer.system.memory import Savings, check_fits, estimate_training_memory, memory_budget
from shared.errors import invalid_field
from shared.schemas.fine_tuning import (
    ADAPTER_DTYPE,
    DTYPE_BYTES,
    Hyperparameters,
    Precision,
    QuantizeBits,
    TrainingDtype,
)
from shared.schemas.hardware import GB, Hardware, MemoryEstimate
from shared.schemas.hardware import Recommendation as Recommendation  # its home before it became a shared schema

BATCH_SIZES = (8, 4, 2, 1)
RANKS = (16, 8, 4)
MAX_LORA_LAYERS = 16  # mlx-lm's default: the top blocks carry most of what fine-tuning changes
EFFECTIVE_BATCH = 8  # gradient accumulation tops a smaller batch up to this many sequences per update
# The API's name of the QLoRA bits, read off the one schema that declares it.
QLORA_FIELD = next(n for n, f in Hyperparameters.model_fields.items() if QuantizeBits in get_args(f.annotation))


def training_dtype(hardware: Hardware, precision: Precision = "auto") -> tuple[TrainingDtype, int]:
    """(dtype, bytes per value) to train in on this machine: `precision`, or for "auto" the device's best."""
    if precision != "auto":
        return precision, DTYPE_BYTES[precision]
    if hardware.metal_available and hardware.mlx_device == "gpu":
        return "bfloat16", 2
    return "float32", 4


def memory_options(precision: str = "auto", quantize_base: int | None = None) -> Hyperparameters:
    """A precision and QLoRA bits checked as a job's hyperparameters are; an error names the bare field."""
    try:
        # Any str / int is passed on: validating them is this function's job.
        return Hyperparameters(precision=precision, quantize_base=quantize_base)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        expected = error.get("ctx", {}).get("expected", error["msg"])
        raise invalid_field(str(error["loc"][0]), error["input"], str(expected)) from None


def _quantize_bits(info: ModelInfo, bits: QuantizeBits | None) -> QuantizeBits | None:
    """The QLoRA bits to estimate with; other bits than a quantized base's own are refused, as the job does."""
    stored = info.quantization_bits
    if bits is not None and stored is not None and stored != bits:
        raise invalid_field(QLORA_FIELD, bits, f"null or {stored}: the base is already quantized to {stored} bits")
    return bits


def _layer_options(num_layers: int) -> list[int]:
    top = min(num_layers, MAX_LORA_LAYERS)
    return sorted({top, *(n for n in (8, 4, 2, 1) if n < top)}, reverse=True)


def _preference(candidate: tuple[int, int, int]) -> tuple[int, bool, int, int]:
    """Most blocks first, then a rank of at least 8, then the batch; rank 16 only where it costs no batch."""
    layers, rank, batch = candidate
    return -layers, rank < 8, -batch, -rank


def recommend(
    info: ModelInfo,
    hardware: Hardware,
    *,
    seq_len: int = 512,
    fraction: float = 0.8,
    precision: Precision = "auto",
    quantize_base: QuantizeBits | None = None,
    budget_bytes: int | None = None,
) -> Recommendation:
    """The preferred settings (see `_preference`) whose estimate passes `check_fits` against the budget.

    The estimate is the job's own (see services.trainer.jobs.memory): in `precision` ("auto": the device's
    dtype), with the base quantized to `quantize_base` bits (QLoRA). The budget is `budget_bytes` (what a
    worker enforces), else `fraction` of the memory `hardware` has free. Raises ResourceExhausted when even
    batch 1, rank 4 on one block does not fit, and InvalidArgument for a `seq_len` beyond the model's context
    or QLoRA bits other than those of a base stored quantized (`memory_options` checks the options' values).
    """
    if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 1:
        raise invalid_field("seq_len", seq_len, "a positive integer")
    if info.context_length and seq_len > info.context_length:
        raise invalid_field("seq_len", seq_len, f"at most the model's context length {info.context_length}")
    dtype, dtype_bytes = training_dtype(hardware, precision)
    bits = _quantize_bits(info, quantize_base)
    savings = Savings(quantize_bits=bits, adapter_dtype_bytes=DTYPE_BYTES[ADAPTER_DTYPE[dtype]])
    budget = memory_budget(hardware, fraction) if budget_bytes is None else budget_bytes
    candidates = sorted(itertools.product(_layer_options(info.num_layers), RANKS, BATCH_SIZES), key=_preference)
    for layers, rank, batch in candidates:
        estimate = estimate_training_memory(
            info,
            lora_rank=rank,
            lora_layers=layers,
            batch_size=batch,
            seq_len=seq_len,
            dtype_bytes=dtype_bytes,
            savings=savings,
        )
        if estimate.total_bytes <= budget:
            break
    check_fits(estimate, budget)  # the last (smallest) candidate failed too: explain with its numbers
    return _recommendation(info, estimate, candidates[0], dtype=dtype, bits=bits, budget=budget)


def _recommendation(
    info: ModelInfo,
    estimate: MemoryEstimate,
    best: tuple[int, int, int],
    *,
    dtype: TrainingDtype,
    bits: QuantizeBits | None,
    budget: int,
) -> Recommendation:
    accumulation = max(1, EFFECTIVE_BATCH // estimate.batch_size)
    chosen = (estimate.lora_layers, estimate.lora_rank, estimate.batch_size)
    limited = "" if chosen == best else " (the largest that fits)"
    base = f"a {bits}-bit base (QLoRA)" if bits else "the base"
    reason = (
        f"batch {estimate.batch_size} x {accumulation} accumulation steps, LoRA rank "
        f"{estimate.lora_rank} on {estimate.lora_layers} of {info.num_layers} blocks of {base} in {dtype}"
        f"{limited}: about {estimate.total_bytes / GB:.2f} GB of the {budget / GB:.2f} GB budget "
        f"at {estimate.seq_len} tokens"
    )
    return Recommendation(
        batch_size=estimate.batch_size,
        lora_rank=estimate.lora_rank,
        lora_layers=estimate.lora_layers,
        grad_accumulation=accumulation,
        dtype=dtype,
        seq_len=estimate.seq_len,
        budget_bytes=budget,
        estimate=estimate,
        reason=reason,
    )
