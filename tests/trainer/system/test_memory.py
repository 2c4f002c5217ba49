"""The memory estimate: parts that scale as they should, a real LoRA step within it, and the checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import mlx.core as mx
import mlx.optimizers as optim
import pytest
from mlx import nn
from mlx_lm.models.llama import Model, ModelArgs
from mlx_lm.tuner.utils import linear_to_lora_layers

from services.trainer.models.inspect import ModelInfo
from services.trainer.system.hardware import Hardware
from services.trainer.system.memory import (
    apply_memory_limits,
    check_fits,
    estimate_training_memory,
    memory_budget,
)
from shared.errors import InvalidArgument, ResourceExhausted

SETTINGS = {"lora_rank": 8, "lora_layers": 16, "batch_size": 1, "seq_len": 512}


def quantised(info: ModelInfo, bits: int, group_size: int = 64) -> ModelInfo:
    """The same shapes with every matrix quantised (as mlx_lm.convert does), the norms left as they are."""
    norms = (2 * info.num_layers + 1) * info.hidden_size
    return dataclasses.replace(
        info,
        quantization_bits=bits,
        quantization_group_size=group_size,
        quantized_parameters=info.num_parameters - norms,
    )


def test_quantised_is_smaller_than_float16(llama_8b: ModelInfo) -> None:
    half = estimate_training_memory(llama_8b, **SETTINGS, dtype_bytes=2)
    eight = estimate_training_memory(quantised(llama_8b, 8), **SETTINGS, dtype_bytes=2)
    four = estimate_training_memory(quantised(llama_8b, 4), **SETTINGS, dtype_bytes=2)
    assert four.total_bytes < eight.total_bytes < half.total_bytes
    assert half.weights_bytes == llama_8b.num_parameters * 2
    # 4 bits plus a bfloat16 scale and bias per 64 weights: 4.5 bits per weight.
    assert four.weights_bytes == pytest.approx(llama_8b.num_parameters * 4.5 / 8, rel=1e-3)
    assert eight.weights_bytes == pytest.approx(llama_8b.num_parameters * 8.5 / 8, rel=1e-3)
    assert four.lora_bytes == half.lora_bytes and four.activations_bytes == half.activations_bytes


def test_realistic_for_llama_8b(llama_8b: ModelInfo) -> None:
    estimate = estimate_training_memory(llama_8b, **SETTINGS, dtype_bytes=2)
    # rank 8 on all 7 projections of 16 blocks: 16 * 8 * (sum of in + out) parameters.
    assert estimate.lora_parameters == 16 * 8 * (8192 + 5120 + 5120 + 8192 + 3 * 18432)
    assert estimate.lora_bytes == estimate.lora_parameters * 16
    assert 18e9 < estimate.total_bytes < 22e9
    assert estimate.logits_bytes > 3 * 512 * 128256 * 4  # the 128k vocabulary is not negligible
    as_dict = estimate.to_dict()
    assert as_dict["total_bytes"] == estimate.total_bytes
    assert as_dict["total_gb"] == round(estimate.total_bytes / 1e9, 3)


@pytest.mark.parametrize("field", ["batch_size", "seq_len", "lora_rank", "lora_layers"])
def test_grows_with_each_setting(llama_8b: ModelInfo, field: str) -> None:
    small = estimate_training_memory(llama_8b, **SETTINGS)
    large = estimate_training_memory(llama_8b, **(SETTINGS | {field: SETTINGS[field] * 2}))
    assert large.total_bytes > small.total_bytes


def test_all_layers_and_keys(tiny_info: ModelInfo) -> None:
    every = estimate_training_memory(tiny_info, lora_rank=8, lora_layers=None, batch_size=2, seq_len=128)
    assert every.lora_layers == tiny_info.num_layers
    capped = estimate_training_memory(tiny_info, lora_rank=8, lora_layers=99, batch_size=2, seq_len=128)
    assert capped.total_bytes == every.total_bytes
    q_only = estimate_training_memory(
        tiny_info, lora_rank=8, lora_layers=None, batch_size=2, seq_len=128, lora_keys=["self_attn.q_proj"]
    )
    assert q_only.lora_parameters == 4 * 8 * (256 + 256)
    with pytest.raises(InvalidArgument, match="batch_size"):
        estimate_training_memory(tiny_info, lora_rank=8, lora_layers=None, batch_size=0, seq_len=128)
    with pytest.raises(InvalidArgument, match="lora.layers"):
        estimate_training_memory(tiny_info, lora_rank=8, lora_layers=0, batch_size=1, seq_len=128)


def test_covers_a_real_lora_step(tiny_info: ModelInfo) -> None:
    """A LoRA step's measured peak on the tiny model lies within the estimate (without fixed overhead)."""
    mx.clear_cache()
    baseline = mx.get_active_memory()  # whatever earlier tests left alive
    mx.reset_peak_memory()
    args = ModelArgs(
        model_type="llama",
        hidden_size=256,
        num_hidden_layers=4,
        intermediate_size=704,
        num_attention_heads=4,
        num_key_value_heads=2,
        rms_norm_eps=1e-5,
        vocab_size=3072,
    )
    model = Model(args)
    model.freeze()
    linear_to_lora_layers(model, 4, {"rank": 8, "scale": 2.0, "dropout": 0.0})
    batch, seq = 4, 512
    tokens = mx.random.randint(0, 3072, (batch, seq + 1))
    step = nn.value_and_grad(model, lambda m, x, y: nn.losses.cross_entropy(m(x), y).mean())
    optimizer = optim.AdamW(learning_rate=1e-4)
    for _ in range(2):
        loss, grads = step(model, tokens[:, :-1], tokens[:, 1:])
        optimizer.update(model, grads)
        mx.eval(loss, model.parameters(), optimizer.state)
    measured = mx.get_peak_memory() - baseline
    estimate = estimate_training_memory(tiny_info, lora_rank=8, lora_layers=4, batch_size=batch, seq_len=seq)
    predicted = estimate.total_bytes - estimate.overhead_bytes
    assert measured <= predicted <= 1.5 * measured


def test_check_fits(tiny_info: ModelInfo) -> None:
    estimate = estimate_training_memory(tiny_info, lora_rank=16, lora_layers=None, batch_size=8, seq_len=2048)
    check_fits(estimate, estimate.total_bytes)
    with pytest.raises(ResourceExhausted) as err:
        check_fits(estimate, 2 * 10**9)
    message = err.value.message
    assert f"{estimate.total_bytes / 1e9:.2f} GB" in message and "2.00 GB" in message
    hints = ("batch_size (now 8)", "max_seq_length (now 2048)", "lora.rank (now 16)", "lora.layers (now 4)")
    for hint in hints:
        assert hint in message
    assert err.value.code == "resource_exhausted"


def test_budget(machine: Callable[..., Hardware]) -> None:
    assert memory_budget(machine(10)) == 8 * 10**9
    assert memory_budget(machine(10), fraction=0.5) == 5 * 10**9
    assert memory_budget(machine(32, apple=True)) == int(0.8 * 24e9)  # Metal's working set, not all RAM
    for bad in (0, 1.5, -1, True):
        with pytest.raises(InvalidArgument, match="fraction"):
            memory_budget(machine(10), fraction=bad)


def test_apply_memory_limits() -> None:
    limits = apply_memory_limits(3 * 10**9)
    try:
        assert mx.get_memory_limit() == 3 * 10**9
        assert limits.cache_limit == 750_000_000 and limits.previous_memory_limit is not None
    finally:
        mx.set_memory_limit(limits.previous_memory_limit or 0)
        mx.set_cache_limit(limits.previous_cache_limit or 0)
