"""recommend: the largest sensible settings that pass check_fits, shrinking with the budget."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from services.trainer.models.inspect import ModelInfo
from services.trainer.system.hardware import Hardware, detect_hardware
from services.trainer.system.memory import check_fits
from services.trainer.system.recommend import recommend
from shared.errors import InvalidArgument, ResourceExhausted


def test_tiny_model_on_this_machine(tiny_info: ModelInfo) -> None:
    rec = recommend(tiny_info, detect_hardware())
    check_fits(rec.estimate, rec.budget_bytes)
    assert rec.dtype == "float32" and rec.estimate.dtype_bytes == 4
    assert rec.batch_size * rec.grad_accumulation >= 8
    assert str(rec.lora_rank) in rec.reason and "GB" in rec.reason
    assert rec.to_dict()["estimate"]["total_bytes"] == rec.estimate.total_bytes


def test_plenty_of_memory_gets_the_top_settings(tiny_info: ModelInfo, machine: Callable[..., Hardware]) -> None:
    rec = recommend(tiny_info, machine(64))
    assert (rec.batch_size, rec.lora_rank, rec.lora_layers, rec.grad_accumulation) == (8, 16, 4, 1)
    assert "largest that fits" not in rec.reason


def test_shrinks_with_the_budget(tiny_info: ModelInfo, machine: Callable[..., Hardware]) -> None:
    chosen = []
    for gb in (64, 8, 4, 2, 1.5, 1.2, 1.0):
        try:
            rec = recommend(tiny_info, machine(gb), seq_len=2048)
        except ResourceExhausted as err:
            assert gb <= 1.2 and "GB" in err.message
            continue
        check_fits(rec.estimate, rec.budget_bytes)
        chosen.append(rec)
    assert len(chosen) >= 4
    totals = [rec.estimate.total_bytes for rec in chosen]
    assert totals == sorted(totals, reverse=True) and totals[0] > totals[-1]
    big, small = chosen[0], chosen[-1]
    settings = [(rec.batch_size, rec.lora_rank, rec.lora_layers) for rec in (small, big)]
    assert settings[0] != settings[1]
    assert small.batch_size <= big.batch_size and small.lora_layers <= big.lora_layers
    assert small.grad_accumulation >= big.grad_accumulation and "largest that fits" in small.reason


def test_apple_gpu_trains_in_bfloat16(llama_8b: ModelInfo, machine: Callable[..., Hardware]) -> None:
    quantised = dataclasses.replace(
        llama_8b,
        quantization_bits=4,
        quantization_group_size=64,
        quantized_parameters=llama_8b.num_parameters - 65 * 4096,
    )
    rec = recommend(quantised, machine(32, apple=True))
    assert rec.dtype == "bfloat16" and rec.estimate.dtype_bytes == 2
    check_fits(rec.estimate, rec.budget_bytes)
    assert rec.lora_layers == 16  # the cap, not all 32 blocks
    with pytest.raises(ResourceExhausted, match="budget"):
        recommend(llama_8b, machine(16, apple=True))  # 16 GB of bfloat16 weights alone do not fit


def test_sequence_beyond_the_context(tiny_info: ModelInfo, machine: Callable[..., Hardware]) -> None:
    with pytest.raises(InvalidArgument, match="seq_len"):
        recommend(tiny_info, machine(64), seq_len=4096)
    with pytest.raises(InvalidArgument):
        recommend(tiny_info, machine(64), seq_len=0)
