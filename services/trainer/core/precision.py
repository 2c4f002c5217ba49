"""How the base and its adapters are held for training: dtype, QLoRA quantization and gradient checkpointing.

`precision` "auto" is float32 on CPU and bfloat16 on Metal (what Mac users train in). `quantize_base` quantizes a
full-precision base with mlx's `nn.quantize` at load; a base already quantized (an MLX-quantized folder) trains
as stored. Gradient checkpointing recomputes each adapted block's activations in backward instead of keeping them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mlx.core as mx
import mlx.nn as nn
from mlx.nn.layers.base import Module
from mlx.utils import tree_map

from shared.errors import invalid_field
from shared.schemas.fine_tuning import ADAPTER_DTYPE, HyperparametersOf, Precision, QuantizeBits

DTYPES: dict[str, mx.Dtype] = {"float32": mx.float32, "bfloat16": mx.bfloat16, "float16": mx.float16}
GROUP_SIZE = 64  # mlx-lm's default quantization group


def resolve_precision(precision: Precision) -> str:
    """The dtype's name a request trains in: "auto" is bfloat16 where Metal trains, else float32."""
    if precision != "auto":
        return precision
    on_gpu = mx.default_device() == mx.gpu and mx.metal.is_available()
    return "bfloat16" if on_gpu else "float32"


def quantized_bits(model: Module) -> int | None:
    """The bits of the model's quantized layers, None when it has none."""
    for _, module in model.named_modules():  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
        bits = getattr(module, "bits", None)
        if isinstance(bits, int) and hasattr(module, "scales"):
            return bits
    return None


def quantize_base(model: Module, bits: QuantizeBits | None) -> int | None:
    """Quantize a full-precision base to `bits` (QLoRA); return the bits the base is held in (None: not quantized).

    Raises InvalidArgument when the base is already quantized to other bits than requested.
    """
    stored = quantized_bits(model)
    if bits is None or stored == bits:
        return stored
    if stored is not None:
        field = f"{HyperparametersOf.group}.{quantize_base.__name__}"  # the function is named after the field
        raise invalid_field(field, bits, f"null or {stored}: the base is already quantized to {stored} bits")
    nn.quantize(model, group_size=GROUP_SIZE, bits=bits)
    return bits


def _checkpointed(call: Callable[..., Any]) -> Callable[..., Any]:
    def checkpointed(block: Module, *args: Any, **kwargs: Any) -> Any:
        def inner(params: Any, *args: Any, **kwargs: Any) -> Any:
            block.update(params)
            return call(block, *args, **kwargs)

        trainable = block.trainable_parameters()  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
        return mx.checkpoint(inner)(trainable, *args, **kwargs)

    return checkpointed


def checkpoint_blocks(model: Module, num_layers: int) -> None:
    """Recompute the top `num_layers` blocks in backward (mlx-lm's `grad_checkpoint`, on these blocks only).

    mlx-lm patches the block class, which would reach every model of the process; here each block gets a
    subclass of its own class, so parameter names and other models stay as they are.
    """
    blocks = model.layers[len(model.layers) - num_layers :]
    subclasses: dict[type, type] = {}
    for block in blocks:
        cls = type(block)
        if cls not in subclasses:
            subclasses[cls] = type(f"Checkpointed{cls.__name__}", (cls,), {"__call__": _checkpointed(cls.__call__)})
        block.__class__ = subclasses[cls]


def cast_adapters(model: Module, dtype: mx.Dtype) -> None:
    """Hold the trainable (LoRA) parameters in `ADAPTER_DTYPE` of the base's `dtype`."""
    name = next(n for n, d in DTYPES.items() if d == dtype)
    held = DTYPES[ADAPTER_DTYPE[name]]
    trainable = model.trainable_parameters()  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
    model.update(tree_map(lambda a: a.astype(held), trainable))


def prepare_model(model: Module, precision: Precision, quantize: QuantizeBits | None) -> mx.Dtype:
    """Cast the base to the run's dtype and quantize it when asked; returns the dtype (LoRA is cast after)."""
    dtype = DTYPES[resolve_precision(precision)]
    model.set_dtype(dtype)
    quantize_base(model, quantize)
    return dtype
