"""The seeds' hardware tiers against the estimate: 8B on 16 GB in 4-bit, 70B on 64 GB, and what is refused.

Synthetic ModelInfo with Llama-3's shapes (no weights needed). Budgets are `memory_budget` of the machine: 80 %
of available memory, and on a Mac at most 80 % of Metal's working set (75 % of RAM in the fixture).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from services.trainer.models.inspect import ModelInfo
from services.trainer.system.hardware import Hardware
from services.trainer.system.memory import MemoryEstimate, Savings, check_fits, estimate_training_memory, memory_budget
from shared.errors import ResourceExhausted

# A short QLoRA run as the seeds describe it: one sequence of 512 tokens, the top 8 blocks, bfloat16.
HALF = Savings(adapter_dtype_bytes=2)
Q4 = Savings(quantize_bits=4, adapter_dtype_bytes=2)
Q4_CHECKPOINTED = Savings(quantize_bits=4, checkpointing=True, adapter_dtype_bytes=2)
QLORA: dict[str, Any] = {"lora_rank": 8, "lora_layers": 8, "batch_size": 1, "seq_len": 512, "dtype_bytes": 2}


@pytest.fixture(scope="module")
def llama_70b(llama_8b: ModelInfo) -> ModelInfo:
    h, kv, i = 8192, 1024, 28672
    return dataclasses.replace(
        llama_8b,
        num_layers=80,
        hidden_size=h,
        num_parameters=70_553_706_496,
        bytes_on_disk=141_107_412_992,
        weight_bytes=141_107_412_992,
        intermediate_size=i,
        num_attention_heads=64,
        block_linears={
            "self_attn.q_proj": [h, h],
            "self_attn.k_proj": [h, kv],
            "self_attn.v_proj": [h, kv],
            "self_attn.o_proj": [h, h],
            "mlp.gate_proj": [h, i],
            "mlp.up_proj": [h, i],
            "mlp.down_proj": [i, h],
        },
    )


def fits(estimate: MemoryEstimate, budget: int) -> bool:
    try:
        check_fits(estimate, budget)
    except ResourceExhausted:
        return False
    return True


def test_8b_in_4_bit_fits_a_16_gb_mac_and_not_in_bfloat16(
    llama_8b: ModelInfo, machine: Callable[..., Hardware]
) -> None:
    budget = memory_budget(machine(16, apple=True))  # 9.6 GB
    q4 = estimate_training_memory(llama_8b, **QLORA, savings=Q4)
    assert 4.5e9 < q4.weights_bytes < 4.6e9  # 4.5 bits a weight: 4 plus a bfloat16 scale and bias per 64
    assert fits(q4, budget)
    assert not fits(estimate_training_memory(llama_8b, **QLORA, savings=HALF), budget)  # 16 GB of bfloat16 weights
    # the default batch of 4 is refused (its float32 logits alone are 3.5 GB); at 256 tokens it fits
    batch4 = {**QLORA, "batch_size": 4}
    assert not fits(estimate_training_memory(llama_8b, **batch4, savings=Q4_CHECKPOINTED), budget)
    assert fits(estimate_training_memory(llama_8b, **{**batch4, "seq_len": 256}, savings=Q4_CHECKPOINTED), budget)


def test_70b_in_4_bit_fits_64_gb_and_not_in_bfloat16(llama_70b: ModelInfo, machine: Callable[..., Hardware]) -> None:
    budget = memory_budget(machine(64))  # 51.2 GB
    q4 = estimate_training_memory(llama_70b, **QLORA, savings=Q4_CHECKPOINTED)
    assert 39e9 < q4.weights_bytes < 40.5e9
    assert fits(q4, budget)
    assert not fits(estimate_training_memory(llama_70b, **QLORA, savings=HALF), budget)
    # A 64 GB Mac lets Metal keep about 48 GB resident; 80 % of that (38.4 GB) is less than the 4-bit weights.
    assert not fits(q4, memory_budget(machine(64, apple=True)))
    assert fits(q4, memory_budget(machine(64, apple=True), fraction=1.0))


def test_gradient_checkpointing_and_precision_lower_the_estimate(llama_8b: ModelInfo) -> None:
    batch4 = {**QLORA, "batch_size": 4}
    full = estimate_training_memory(llama_8b, **{**batch4, "dtype_bytes": 4})
    half = estimate_training_memory(llama_8b, **batch4, savings=HALF)
    checkpointed = estimate_training_memory(
        llama_8b, **batch4, savings=Savings(checkpointing=True, adapter_dtype_bytes=2)
    )
    assert half.weights_bytes * 2 == full.weights_bytes and half.lora_bytes * 2 == full.lora_bytes
    assert checkpointed.activations_bytes < half.activations_bytes / 3
    assert checkpointed.attention_bytes < half.attention_bytes


def test_a_refusal_names_what_to_lower(llama_70b: ModelInfo, machine: Callable[..., Hardware]) -> None:
    with pytest.raises(ResourceExhausted) as err:
        check_fits(estimate_training_memory(llama_70b, **QLORA, savings=HALF), memory_budget(machine(64)))
    for hint in ("batch_size", "max_seq_length", "precision", "quantize_base", "gradient_checkpointing"):
        assert hint in err.value.message
