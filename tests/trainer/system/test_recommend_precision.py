"""recommend with a precision, QLoRA bits and a worker's budget: the job's own estimate decides what fits."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from services.trainer.models.inspect import ModelInfo
from services.trainer.system.hardware import Hardware
from services.trainer.system.memory import Savings, check_fits, estimate_training_memory
from services.trainer.system.recommend import memory_options, recommend
from shared.errors import InvalidArgument, ResourceExhausted


def test_an_8b_model_fits_16_gb_in_4_bit(llama_8b: ModelInfo, machine: Callable[..., Hardware]) -> None:
    sixteen = machine(16)
    with pytest.raises(ResourceExhausted, match="quantize_base 4"):
        recommend(llama_8b, sixteen)  # 32 GB of float32 weights
    rec = recommend(llama_8b, sixteen, quantize_base=4)
    check_fits(rec.estimate, rec.budget_bytes)
    assert rec.estimate.quantize_bits == 4 and rec.dtype == "float32"
    assert rec.estimate.weights_bytes < 6e9 and "4-bit base (QLoRA)" in rec.reason
    # The same estimate the job's memory check makes for these settings.
    again = estimate_training_memory(
        llama_8b,
        lora_rank=rec.lora_rank,
        lora_layers=rec.lora_layers,
        batch_size=rec.batch_size,
        seq_len=rec.seq_len,
        dtype_bytes=4,
        savings=Savings(quantize_bits=4),
    )
    assert again == rec.estimate


def test_a_precision_halves_what_the_base_holds(tiny_info: ModelInfo, machine: Callable[..., Hardware]) -> None:
    full = recommend(tiny_info, machine(64))
    half = recommend(tiny_info, machine(64), precision="bfloat16")
    assert (full.dtype, half.dtype) == ("float32", "bfloat16")
    assert half.estimate.dtype_bytes == 2 and half.estimate.weights_bytes * 2 == full.estimate.weights_bytes
    assert half.estimate.lora_bytes * 2 == full.estimate.lora_bytes  # bfloat16 adapters
    float16 = recommend(tiny_info, machine(64), precision="float16")
    assert float16.estimate.lora_bytes == full.estimate.lora_bytes  # float16 runs keep float32 adapters


def test_a_workers_budget_replaces_the_share_of_free_memory(
    tiny_info: ModelInfo, machine: Callable[..., Hardware]
) -> None:
    rec = recommend(tiny_info, machine(64), budget_bytes=int(1.5e9), seq_len=2048)
    assert rec.budget_bytes == int(1.5e9) and rec.estimate.total_bytes <= 1.5e9
    assert "largest that fits" in rec.reason


@pytest.mark.parametrize(
    ("precision", "bits", "param", "message"),
    [
        ("float8", None, "precision", "'auto', 'float32', 'bfloat16' or 'float16'"),
        ("auto", 3, "quantize_base", "4 or 8"),
    ],
)
def test_options_are_checked_as_the_jobs_are(precision: str, bits: int | None, param: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as info:
        memory_options(precision, bits)
    assert info.value.param == param
    assert memory_options("bfloat16", 8).model_dump(include={"precision", "quantize_base"}) == {
        "precision": "bfloat16",
        "quantize_base": 8,
    }


def test_other_bits_than_a_quantized_bases_are_refused(llama_8b: ModelInfo, machine: Callable[..., Hardware]) -> None:
    quantized = dataclasses.replace(llama_8b, quantization_bits=4, quantized_parameters=llama_8b.num_parameters - 1)
    with pytest.raises(InvalidArgument, match="already quantized to 4 bits") as info:
        recommend(quantized, machine(64), quantize_base=8)
    assert info.value.param == "quantize_base"


def test_a_stored_4_bit_base_accepts_quantize_base_4(llama_8b: ModelInfo, machine: Callable[..., Hardware]) -> None:
    quantized = dataclasses.replace(
        llama_8b, quantization_bits=4, quantization_group_size=64, quantized_parameters=llama_8b.num_parameters - 1
    )
    asked, stored = recommend(quantized, machine(16), quantize_base=4), recommend(quantized, machine(16))
    assert asked.estimate.total_bytes == stored.estimate.total_bytes and asked.estimate.quantize_bits == 4
