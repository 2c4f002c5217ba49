"""A ModelInfo of the built-in model and machines of chosen sizes for the memory tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.trainer.models.inspect import ModelInfo, inspect_model
from services.trainer.models.tiny import build_tiny_model
from services.trainer.system.hardware import Hardware


@pytest.fixture(scope="session")
def tiny_info(tmp_path_factory: pytest.TempPathFactory) -> ModelInfo:
    return inspect_model(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny"))


@pytest.fixture(scope="session")
def llama_8b() -> ModelInfo:
    """Llama-3-8B's shapes in bfloat16 (written out: no weights are needed to estimate)."""
    h, kv, i = 4096, 1024, 14336
    return ModelInfo(
        model_type="llama",
        num_layers=32,
        hidden_size=h,
        vocab_size=128256,
        num_parameters=8_030_261_248,
        bytes_on_disk=16_060_522_496,
        quantization_bits=None,
        dtype="bfloat16",
        context_length=8192,
        intermediate_size=i,
        num_attention_heads=32,
        num_key_value_heads=8,
        weight_bytes=16_060_522_496,
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


@pytest.fixture
def machine() -> Callable[..., Hardware]:
    def make(gb: float, *, apple: bool = False) -> Hardware:
        return Hardware(
            os="darwin" if apple else "linux",
            machine="arm64" if apple else "x86_64",
            cpu_count=8,
            total_memory_bytes=int(gb * 1e9),
            available_memory_bytes=int(gb * 1e9),
            unified_memory=apple,
            mlx_device="gpu" if apple else "cpu",
            metal_available=apple,
            gpu_working_set_bytes=int(gb * 0.75e9) if apple else None,
        )

    return make
