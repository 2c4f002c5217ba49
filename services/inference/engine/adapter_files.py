"""Reading an adapter in mlx-lm's layout (adapters.safetensors + adapter_config.json) and checking it fits the base.

Weights are named like mlx-lm's LoRALinear parameters: `model.layers.3.self_attn.q_proj.lora_a` ([in, rank])
and `...lora_b` ([rank, out]); the output of a layer is `x W^T + scale * (x A) B`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlx.core as mx

from shared.errors import InvalidArgument, NotFound, invalid_field

ADAPTER_WEIGHTS = "adapters.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
LEAVES = ("lora_a", "lora_b")

# (input dims, output dims) of the base linear layer at a module path, or None if there is none.
BaseShapes = Callable[[str], tuple[int, int] | None]


@dataclass(frozen=True)
class LoRAPair:
    a: mx.array  # [in, rank]
    b: mx.array  # [rank, out]


@dataclass(frozen=True)
class AdapterWeights:
    rank: int
    scale: float
    layers: dict[str, LoRAPair]  # module path -> its low-rank pair

    @property
    def nbytes(self) -> int:
        return sum(p.a.nbytes + p.b.nbytes for p in self.layers.values())


def read_adapter(name: str, directory: Path, base_shapes: BaseShapes) -> AdapterWeights:
    """Load and check an adapter; NotFound for missing files, InvalidArgument for anything that does not fit."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotFound(f"directory: adapter folder {str(directory)!r} does not exist", param="directory")
    for file in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
        if not (directory / file).is_file():
            raise NotFound(
                f"directory: {str(directory)!r} has no {file} (expected mlx-lm's adapter layout)", param="directory"
            )
    rank, scale = _read_config(directory / ADAPTER_CONFIG)
    try:
        tensors = mx.load(str(directory / ADAPTER_WEIGHTS))
    except Exception as exc:  # mlx raises RuntimeError/ValueError for unreadable files
        raise invalid_field("adapter", name, f"a readable {ADAPTER_WEIGHTS} ({exc})") from exc
    assert isinstance(tensors, dict)
    layers = _pair_up(name, tensors)
    for path, pair in layers.items():
        _check_fits(name, path, pair, rank, base_shapes(path))
    mx.eval([(p.a, p.b) for p in layers.values()])
    return AdapterWeights(rank=rank, scale=scale, layers=layers)


def _read_config(path: Path) -> tuple[int, float]:
    try:
        config: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise invalid_field(ADAPTER_CONFIG, str(path), f"a readable JSON object ({exc})") from exc
    if not isinstance(config, dict):
        raise invalid_field(ADAPTER_CONFIG, config, "a JSON object")
    kind = config.get("fine_tune_type", "lora")
    if kind != "lora":
        raise invalid_field(
            f"{ADAPTER_CONFIG}.fine_tune_type", kind, '"lora" (dora and full fine-tunes are not served as adapters)'
        )
    params = config.get("lora_parameters")
    if not isinstance(params, dict):
        raise invalid_field(f"{ADAPTER_CONFIG}.lora_parameters", params, "an object with rank and scale")
    rank, scale = params.get("rank"), params.get("scale")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise invalid_field(f"{ADAPTER_CONFIG}.lora_parameters.rank", rank, "an integer >= 1")
    if not isinstance(scale, int | float) or isinstance(scale, bool):
        raise invalid_field(f"{ADAPTER_CONFIG}.lora_parameters.scale", scale, "a number (mlx-lm's scale, not alpha)")
    return rank, float(scale)


def _pair_up(name: str, tensors: dict[str, mx.array]) -> dict[str, LoRAPair]:
    found: dict[str, dict[str, mx.array]] = {}
    for key, value in tensors.items():
        path, _, leaf = key.rpartition(".")
        if leaf not in LEAVES or not path:
            raise invalid_field("adapter", name, f"only LoRA tensors (*.lora_a, *.lora_b); found {key!r}")
        found.setdefault(path, {})[leaf] = value
    if not found:
        raise invalid_field("adapter", name, f"an {ADAPTER_WEIGHTS} holding LoRA tensors; it is empty")
    layers: dict[str, LoRAPair] = {}
    for path, leaves in sorted(found.items()):
        missing = [leaf for leaf in LEAVES if leaf not in leaves]
        if missing:
            raise invalid_field("adapter", name, f"both lora_a and lora_b for {path}; {missing[0]} is missing")
        layers[path] = LoRAPair(a=leaves["lora_a"], b=leaves["lora_b"])
    return layers


def _check_fits(name: str, path: str, pair: LoRAPair, rank: int, base: tuple[int, int] | None) -> None:
    if base is None:
        raise InvalidArgument(
            f"adapter {name!r} does not fit this base model: it adapts {path}, which is not a "
            f"linear layer of the base model",
            param="adapter",
            code="adapter_mismatch",
        )
    a_shape, b_shape = tuple(pair.a.shape), tuple(pair.b.shape)
    if len(a_shape) != 2 or len(b_shape) != 2 or a_shape[1] != b_shape[0]:
        raise invalid_field(
            "adapter", name, f"lora_a [in, r] and lora_b [r, out] for {path}; got {a_shape} and {b_shape}"
        )
    if a_shape[1] != rank:
        raise invalid_field("adapter", name, f"rank {rank} as adapter_config.json says; {path} has rank {a_shape[1]}")
    in_dims, out_dims = base
    if a_shape[0] != in_dims or b_shape[1] != out_dims:
        raise InvalidArgument(
            f"adapter {name!r} does not fit this base model: {path} maps {a_shape[0]} -> {b_shape[1]} features but "
            f"the base layer maps {in_dims} -> {out_dims}",
            param="adapter",
            code="adapter_mismatch",
        )
