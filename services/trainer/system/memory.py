"""How much memory a LoRA training run needs, whether it fits, and capping MLX at the budget.

The estimate counts what MLX holds at the peak of a step, part by part:

- weights: frozen base weights in the training dtype; quantised ones as stored (bits/8 bytes per parameter
  plus a scale and a bias per group);
- QLoRA (`quantize_bits`): every parameter but the norms counted as quantised to those bits;
- LoRA: the adapters' parameters, gradients and AdamW's two moments, in the training dtype (float32 for
  float16, whose adapters stay float32);
- activations: what backward needs from every adapted block (blocks below the lowest adapter keep nothing),
  plus the scores of attention, which grow with the square of the sequence; with gradient checkpointing each
  adapted block keeps only its input and one block's activations are recomputed at a time;
- logits: batch · seq · vocab in float32, four times (logits, log-softmax, the gradient and its cast back);
  a half-precision run holds the logits in its dtype and one float32 upcast more;
- a fixed overhead for the interpreter, MLX, the tokenizer and the data.

Checked against `mx.get_peak_memory()` for LoRA steps on built-in-style models (2 to 12 blocks, hidden 256
and 768, float32 and 4-bit, batch 1 to 8, seq 256 to 2048), and on SmolLM2-135M-Instruct (vocabulary 49152, so
the logits weigh most) in float32, bfloat16, QLoRA 4-bit and with gradient checkpointing: the measured peak is
0.90 to 1.0 of the estimate less its fixed overhead (the part MLX allocates), see
tests/trainer/system/test_memory_smollm2.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from services.trainer.models.inspect import ModelInfo
from shared.errors import ResourceExhausted, invalid_field
from shared.schemas.hardware import GB as GB
from shared.schemas.hardware import Hardware
from shared.schemas.hardware import MemoryEstimate as MemoryEstimate  # its home before it became a shared schema

FIXED_OVERHEAD_BYTES = 512 * 1024 * 1024
ACTIVATION_MARGIN = 1.10  # allocator rounding and short-lived temporaries the count below leaves out
LORA_COPIES = 4  # parameter + gradient + AdamW first and second moments
LOGIT_COPIES = 4


@dataclass(frozen=True)
class Savings:
    """What a run does to hold less: QLoRA bits, gradient checkpointing, and the adapters' bytes per value."""

    quantize_bits: int | None = None
    checkpointing: bool = False  # gradient checkpointing
    adapter_dtype_bytes: int = 4  # float32 unless the run trains the adapters in half precision


def _block_linears(info: ModelInfo) -> dict[str, tuple[int, int]]:
    """(in, out) of each linear layer of a block; from the weights when known, else Llama's layout."""
    if info.block_linears:
        return {name: (int(dims[0]), int(dims[1])) for name, dims in info.block_linears.items()}
    h = info.hidden_size
    heads = info.num_attention_heads or 1
    kv = h * (info.num_key_value_heads or heads) // heads
    i = info.intermediate_size or (8 * h) // 3
    return {
        "self_attn.q_proj": (h, h),
        "self_attn.k_proj": (h, kv),
        "self_attn.v_proj": (h, kv),
        "self_attn.o_proj": (h, h),
        "mlp.gate_proj": (h, i),
        "mlp.up_proj": (h, i),
        "mlp.down_proj": (i, h),
    }


def _saved_per_token(info: ModelInfo, linears: dict[str, tuple[int, int]], rank: int, keys: int) -> int:
    """Values one adapted block keeps per token for backward.

    Two RMSNorms (input and output each: 4h), q/k/v projections and the rotated q, k (2q + 3kv), the attention
    output feeding o_proj (q), the MLP's gate, up, activation and product (4i), and each adapter's x·A (r per
    key). For Llama shapes this is about 20 times the hidden size.
    """
    h = info.hidden_size
    q = linears.get("self_attn.q_proj", (h, h))[1]
    kv = linears.get("self_attn.k_proj", (h, h))[1]
    i = linears.get("mlp.gate_proj", (h, info.intermediate_size or 4 * h))[1]
    return 4 * h + 3 * q + 3 * kv + 4 * i + rank * keys


def _positive(field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid_field(field, value, "a positive integer")
    return value


def estimate_training_memory(
    info: ModelInfo,
    *,
    lora_rank: int,
    lora_layers: int | None,
    batch_size: int,
    seq_len: int,
    dtype_bytes: int = 4,
    lora_keys: Collection[str] | None = None,
    savings: Savings = Savings(),
) -> MemoryEstimate:
    """Peak memory of a LoRA step on `lora_layers` top blocks (None: all).

    All linear layers are adapted, or only `lora_keys` (block-relative paths such as "self_attn.q_proj").
    `savings.quantize_bits` quantizes a full-precision base at load (a quantized one stays as stored).
    """
    _positive("lora.rank", lora_rank)
    _positive("batch_size", batch_size)
    _positive("max_seq_length", seq_len)
    if dtype_bytes not in (1, 2, 4, 8):
        raise invalid_field("dtype_bytes", dtype_bytes, "1, 2, 4 or 8")
    layers = info.num_layers if lora_layers is None else _positive("lora.layers", lora_layers)
    layers = min(layers, info.num_layers)
    linears = _block_linears(info)
    adapted = {k: v for k, v in linears.items() if lora_keys is None or k in set(lora_keys)}

    quantize_bits, checkpointing = savings.quantize_bits, savings.checkpointing
    quantized, bits, group = info.quantized_parameters, info.quantization_bits or 4, info.quantization_group_size
    if quantize_bits is not None and not quantized:
        norms = (2 * info.num_layers + 1) * info.hidden_size
        quantized, bits, group = info.num_parameters - norms, quantize_bits, 64
    weights = (info.num_parameters - quantized) * dtype_bytes
    if quantized:
        groups = quantized / (group or 64)
        weights += int(quantized * bits / 8 + groups * 2 * dtype_bytes)

    lora_parameters = layers * sum(lora_rank * (d_in + d_out) for d_in, d_out in adapted.values())
    tokens = batch_size * seq_len
    per_token = _saved_per_token(info, linears, lora_rank, len(adapted))
    if checkpointing:
        # Each adapted block keeps its input; backward recomputes one block (and its attention) at a time.
        activations = layers * tokens * info.hidden_size * dtype_bytes + 2 * tokens * per_token * dtype_bytes
    else:
        # One block more than the adapted ones: the block backward is working on holds its temporaries too.
        activations = (layers + 1) * tokens * per_token * dtype_bytes
    scores = batch_size * (info.num_attention_heads or 1) * seq_len * seq_len * dtype_bytes
    # Each adapted block keeps its attention probabilities; backward adds the scores and their gradient.
    attention = (2 if checkpointing else layers + 2) * scores
    upcast = 4 + dtype_bytes if dtype_bytes < 4 else 0  # half-precision logits, and their float32 copy in the loss
    logits = (LOGIT_COPIES * 4 + upcast) * tokens * info.vocab_size
    return MemoryEstimate(
        weights_bytes=int(weights),
        lora_bytes=lora_parameters * LORA_COPIES * savings.adapter_dtype_bytes,
        activations_bytes=int(activations * ACTIVATION_MARGIN),
        attention_bytes=int(attention * ACTIVATION_MARGIN),
        logits_bytes=int(logits * ACTIVATION_MARGIN),
        overhead_bytes=FIXED_OVERHEAD_BYTES,
        lora_parameters=lora_parameters,
        batch_size=batch_size,
        seq_len=seq_len,
        lora_rank=lora_rank,
        lora_layers=layers,
        dtype_bytes=dtype_bytes,
        quantize_bits=quantize_bits,
        checkpointing=checkpointing,
    )


def check_fits(estimate: MemoryEstimate, budget_bytes: int) -> None:
    """Raise ResourceExhausted, with both numbers and what to lower, when `estimate` exceeds the budget."""
    if estimate.total_bytes <= budget_bytes:
        return
    parts = {
        "weights": estimate.weights_bytes,
        "activations": estimate.activations_bytes,
        "attention": estimate.attention_bytes,
        "logits": estimate.logits_bytes,
        "LoRA and optimizer": estimate.lora_bytes,
    }
    largest = max(parts, key=lambda k: parts[k])
    raise ResourceExhausted(
        f"training needs about {estimate.total_bytes / GB:.2f} GB but the memory budget is "
        f"{budget_bytes / GB:.2f} GB (largest part: {largest}, {parts[largest] / GB:.2f} GB); lower "
        f"batch_size (now {estimate.batch_size}), max_seq_length (now {estimate.seq_len}), lora.rank (now "
        f"{estimate.lora_rank}) or lora.layers (now {estimate.lora_layers}), or set precision bfloat16, "
        f"quantize_base 4 or gradient_checkpointing (now precision {estimate.dtype_bytes * 8}-bit, quantize_base "
        f"{estimate.quantize_bits}, gradient_checkpointing {estimate.checkpointing})",
    )


def memory_budget(hardware: Hardware, fraction: float = 0.8) -> int:
    """Bytes a training job may use: `fraction` of the memory available now.

    On a Mac it is also at most that fraction of what Metal recommends keeping resident.
    """
    if not isinstance(fraction, int | float) or isinstance(fraction, bool) or not 0 < fraction <= 1:
        raise invalid_field("fraction", fraction, "a number in (0, 1]")
    budget = fraction * hardware.available_memory_bytes
    if hardware.metal_available and hardware.gpu_working_set_bytes:
        budget = min(budget, fraction * hardware.gpu_working_set_bytes)
    return int(budget)


@dataclass(frozen=True)
class MemoryLimits:
    """The MLX memory and cache limits set, and the ones they replaced (None when MLX could not say)."""

    memory_limit: int
    cache_limit: int
    previous_memory_limit: int | None
    previous_cache_limit: int | None


def apply_memory_limits(budget_bytes: int) -> MemoryLimits:
    """Cap MLX's allocations at the budget and its cache of freed buffers at a quarter of it.

    Uses `mx.set_memory_limit` / `mx.set_cache_limit` (MLX >= 0.24, CPU and Metal alike), falling back to the
    older `mx.metal.*` spellings.
    """
    _positive("budget_bytes", budget_bytes)
    import mlx.core as mx

    cache = budget_bytes // 4  # freed buffers beyond this go back to the OS instead of raising the peak
    previous: list[int | None] = []
    for name, value in (("set_memory_limit", budget_bytes), ("set_cache_limit", cache)):
        setter = getattr(mx, name, None) or getattr(getattr(mx, "metal", None), name, None)
        previous.append(int(setter(value)) if setter is not None else None)
    return MemoryLimits(
        memory_limit=budget_bytes,
        cache_limit=cache,
        previous_memory_limit=previous[0],
        previous_cache_limit=previous[1],
    )
