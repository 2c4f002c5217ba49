"""LoRA with mlx-lm's own `linear_to_lora_layers`, and adapters in mlx-lm's layout.

An adapter directory holds `adapters.safetensors` (the flattened trainable parameters, e.g.
`model.layers.1.self_attn.q_proj.lora_a`) and `adapter_config.json` (`fine_tune_type`, `num_layers`,
`lora_parameters` {rank, scale, dropout, keys}), so `mlx_lm.load(base, adapter_path=DIR)` and
`mlx_lm.generate --adapter-path DIR` use it unchanged. The API takes rank and alpha; mlx-lm's scale is
alpha / rank.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mlx.core as mx
from mlx.nn.layers.base import Module
from mlx.nn.layers.linear import Linear
from mlx.nn.layers.quantized import QuantizedLinear
from mlx.utils import tree_flatten
from mlx_lm.tuner.utils import linear_to_lora_layers

from shared.errors import invalid_field
from shared.schemas.fine_tuning import LoraSpec

ADAPTER_WEIGHTS = "adapters.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
LORA_LEAVES = ("lora_a", "lora_b")


def _block_linear_paths(model: Module) -> list[str]:
    """Module paths inside a block that mlx-lm can convert (linear layers), e.g. "self_attn.q_proj"."""
    paths: set[str] = set()
    for block in model.layers:
        for name, module in block.named_modules():
            if name and (hasattr(module, "to_lora") or isinstance(module, Linear | QuantizedLinear)):
                paths.add(name)
    return sorted(paths)


def apply_lora(model: Module, settings: LoraSpec) -> int:
    """Freeze the model and put LoRA on the top `settings.layers` blocks (all when None).

    Returns the number of blocks adapted. Raises InvalidArgument for a layer count above the model's or a key
    that names no linear layer of a block.
    """
    total = len(model.layers)
    num_layers = total if settings.layers is None else settings.layers
    if num_layers > total:
        raise invalid_field(
            "lora.layers",
            settings.layers,
            f"an integer in [1, {total}] (the model has {total} blocks), or null for all",
        )
    if settings.keys is not None:
        available = _block_linear_paths(model)
        unknown = [k for k in settings.keys if k not in available]
        if unknown:
            raise invalid_field("lora.keys", list(settings.keys), f"module paths among {available}")
    model.freeze()
    linear_to_lora_layers(model, num_layers, lora_parameters(settings))
    if not adapter_weights(model):
        raise invalid_field("lora.keys", settings.keys, "keys that select at least one linear layer")
    return num_layers


def lora_parameters(settings: LoraSpec) -> dict[str, Any]:
    """mlx-lm's `lora_parameters` for these settings."""
    params: dict[str, Any] = {"rank": settings.rank, "scale": settings.scale, "dropout": settings.dropout}
    if settings.keys is not None:
        params["keys"] = list(settings.keys)
    return params


def adapter_config(
    settings: LoraSpec, num_layers: int, *, base_model: str | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The `adapter_config.json` mlx-lm reads (plus our own keys, which it ignores)."""
    config: dict[str, Any] = {
        "fine_tune_type": "lora",
        "num_layers": num_layers,
        "lora_parameters": lora_parameters(settings),
        "lora_alpha": settings.alpha,
    }
    if base_model is not None:
        config["model"] = base_model
    if extra:
        config.update(extra)
    return config


def adapter_weights(model: Module) -> dict[str, mx.array]:
    """The trainable (LoRA) parameters, flattened with mlx-lm's dotted names."""
    trainable = model.trainable_parameters()  # type: ignore[no-untyped-call]  # mlx's Module is unannotated
    return dict(tree_flatten(trainable))


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def save_safetensors_atomic(path: Path, arrays: dict[str, mx.array], metadata: dict[str, str] | None = None) -> None:
    """Write safetensors so a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp.safetensors")
    mx.save_safetensors(str(tmp), arrays, metadata=metadata or {})
    os.replace(tmp, path)


def save_adapter(model: Module, directory: Path, config: dict[str, Any]) -> None:
    """Write adapters.safetensors and adapter_config.json into `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = adapter_weights(model)
    mx.eval(weights)
    save_safetensors_atomic(directory / ADAPTER_WEIGHTS, weights, {"format": "mlx"})
    write_json_atomic(directory / ADAPTER_CONFIG, config)
