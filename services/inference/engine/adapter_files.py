"""Reading an adapter for serving: its LoRA factors, in the shared adapter format, checked against the base model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx

from shared.adapter_format import ADAPTER_CONFIG, LoRAPair, load_adapter_tensors, lora_pairs, read_adapter_config
from shared.errors import InvalidArgument, invalid_field

# (input dims, output dims) of the base linear layer at a module path, or None if there is none.
BaseShapes = Callable[[str], tuple[int, int] | None]


@dataclass(frozen=True)
class AdapterWeights:
    """A LoRA adapter ready to install: its rank, scale and low-rank pair per module path."""

    rank: int
    scale: float
    layers: dict[str, LoRAPair]  # module path -> its low-rank pair

    @property
    def nbytes(self) -> int:
        return sum(p.a.nbytes + p.b.nbytes for p in self.layers.values())


def read_adapter(name: str, directory: Path, base_shapes: BaseShapes) -> AdapterWeights:
    """Load and check an adapter; NotFound for missing files, InvalidArgument for anything that does not fit."""
    directory = Path(directory)
    config = read_adapter_config(directory)
    if config.fine_tune_type != "lora":
        raise invalid_field(
            f"{ADAPTER_CONFIG}.fine_tune_type",
            config.fine_tune_type,
            '"lora" (dora and full fine-tunes are not served as adapters)',
        )
    params = config.lora()
    layers = lora_pairs(load_adapter_tensors(directory), params.rank)
    for path, pair in layers.items():
        _check_fits(name, path, pair, base_shapes(path))
    mx.eval([(p.a, p.b) for p in layers.values()])
    return AdapterWeights(rank=params.rank, scale=params.scale, layers=layers)


def _check_fits(name: str, path: str, pair: LoRAPair, base: tuple[int, int] | None) -> None:
    if base is None:
        raise InvalidArgument(
            f"adapter {name!r} does not fit this base model: it adapts {path}, which is not a "
            f"linear layer of the base model",
            param="adapter",
            code="adapter_mismatch",
        )
    in_dims, out_dims = base
    (a_in, _), (_, b_out) = pair.a.shape, pair.b.shape
    if a_in != in_dims or b_out != out_dims:
        raise InvalidArgument(
            f"adapter {name!r} does not fit this base model: {path} maps {a_in} -> {b_out} features but "
            f"the base layer maps {in_dims} -> {out_dims}",
            param="adapter",
            code="adapter_mismatch",
        )
