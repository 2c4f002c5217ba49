"""LoRA with mlx-lm's own `linear_to_lora_layers`, saved in mlx-lm's adapter layout (`shared.adapter_format`).

So `mlx_lm.load(base, adapter_path=DIR)` and `mlx_lm.generate --adapter-path DIR` use a trained adapter unchanged.
The API takes rank and alpha; mlx-lm's scale is alpha / rank.
"""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
from mlx.nn.layers.base import Module
from mlx.nn.layers.linear import Linear
from mlx.nn.layers.quantized import QuantizedLinear
from mlx.utils import tree_flatten
from mlx_lm.tuner.utils import linear_to_lora_layers

from shared.adapter_format import AdapterConfig, LoraParameters, load_adapter_tensors, write_adapter
from shared.errors import FailedPrecondition, invalid_field
from shared.schemas.fine_tuning import DistrustSpec, LoraSpec


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
    linear_to_lora_layers(model, num_layers, lora_parameters(settings).model_dump(exclude_none=True))
    if not adapter_weights(model):
        raise invalid_field("lora.keys", settings.keys, "keys that select at least one linear layer")
    return num_layers


def lora_parameters(settings: LoraSpec) -> LoraParameters:
    """mlx-lm's `lora_parameters` for these settings."""
    return LoraParameters(rank=settings.rank, scale=settings.scale, dropout=settings.dropout, keys=settings.keys)


def adapter_config(
    settings: LoraSpec,
    num_layers: int,
    *,
    base_model: str | None = None,
    distrust: DistrustSpec | None = None,
    trained_steps: int | None = None,
) -> AdapterConfig:
    """The `AdapterConfig` of an adapter trained with these settings on the top `num_layers` blocks."""
    return AdapterConfig(
        fine_tune_type="lora",
        num_layers=num_layers,
        lora_parameters=lora_parameters(settings),
        lora_alpha=settings.alpha,
        model=base_model,
        distrust=distrust,
        trained_steps=trained_steps,
    )


def adapter_weights(model: Module) -> dict[str, mx.array]:
    """The trainable (LoRA) parameters, flattened with mlx-lm's dotted names."""
    trainable = model.trainable_parameters()  # type: ignore[no-untyped-call]  # mlx's Module is unannotated
    return dict(tree_flatten(trainable))


def save_adapter(model: Module, directory: Path, config: AdapterConfig) -> None:
    """Write the model's LoRA weights and `config` into `directory` in mlx-lm's adapter layout."""
    write_adapter(directory, adapter_weights(model), config)


def load_start_adapter(model: Module, directory: Path) -> None:
    """Continue an adapter: its trained LoRA weights into the model's fresh LoRA layers, which must match them."""
    tensors = load_adapter_tensors(Path(directory))
    fresh = adapter_weights(model)
    mismatched = sorted(
        set(fresh) ^ set(tensors) | {k for k in set(fresh) & set(tensors) if fresh[k].shape != tensors[k].shape}
    )
    if mismatched:
        raise FailedPrecondition(
            f"the adapter to continue does not fit the job's LoRA layers ({len(mismatched)} tensors differ, "
            f"first {mismatched[0]!r})"
        )
    model.load_weights([(k, v.astype(fresh[k].dtype)) for k, v in tensors.items()], strict=False)
