"""Random LoRA adapters in mlx-lm's layout: stand-ins for trained ones in tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mlx.core as mx
from mlx import nn

from shared.adapter_format import AdapterConfig, LoraParameters, write_adapter

DEFAULT_KEYS = (
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
)


def write_random_adapter(
    directory: Path,
    model: nn.Module,
    *,
    seed: int,
    rank: int = 8,
    scale: float = 2.0,
    num_layers: int | None = None,
    keys: Sequence[str] | None = None,
    magnitude: float = 0.3,
) -> Path:
    """Random non-zero lora_a / lora_b for the top `num_layers` blocks, saved as mlx-lm saves a trained adapter."""
    layers = model.layers
    num_layers = len(layers) if num_layers is None else num_layers
    chosen = tuple(keys) if keys is not None else DEFAULT_KEYS
    key = mx.random.key(seed)
    tensors: dict[str, mx.array] = {}
    for index in range(len(layers) - num_layers, len(layers)):
        modules = dict(layers[index].named_modules())
        for name in chosen:
            out_dims, in_dims = modules[name].weight.shape
            key, ka, kb = mx.random.split(key, 3)
            prefix = f"model.layers.{index}.{name}"
            bound = 1 / in_dims**0.5
            tensors[f"{prefix}.lora_a"] = mx.random.uniform(-bound, bound, (in_dims, rank), key=ka)
            tensors[f"{prefix}.lora_b"] = magnitude * mx.random.normal((rank, out_dims), key=kb)
    params = LoraParameters(rank=rank, scale=scale, keys=None if keys is None else list(keys))
    write_adapter(directory, tensors, AdapterConfig(num_layers=num_layers, lora_parameters=params))
    return directory


def make_random_adapter(
    base_dir: Path, target: Path, *, seed: int, rank: int = 8, num_layers: int | None = None, magnitude: float = 0.3
) -> Path:
    """`write_random_adapter` for the model stored at `base_dir`."""
    from mlx_lm import load

    model = load(str(base_dir))[0]
    return write_random_adapter(target, model, seed=seed, rank=rank, num_layers=num_layers, magnitude=magnitude)
