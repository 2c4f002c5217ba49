"""The adapter on-disk format, mlx-lm's layout: `adapters.safetensors` + `adapter_config.json` in one folder.

`adapters.safetensors` holds the trainable tensors under mlx-lm's dotted names; a LoRA layer has
`model.layers.3.self_attn.q_proj.lora_a` ([in, rank]) and `...lora_b` ([rank, out]), and its output is
`x W^T + scale * (x A) B`. `adapter_config.json` is what `mlx_lm.load(base, adapter_path=DIR)` reads
(`fine_tune_type`, `num_layers`, `lora_parameters`) plus keys of ours and of mlx-lm's trainer, kept as they are.
The trainer writes adapters, the exporter and the inference engine read them; all of them go through here.
MLX is imported only where tensors are touched, so a config can be read and checked without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import InvalidArgument, NotFound, invalid_field
from shared.schemas.fine_tuning import DistrustSpec, LoraSpec

if TYPE_CHECKING:
    import mlx.core as mx

ADAPTER_WEIGHTS = "adapters.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_FILES = (ADAPTER_WEIGHTS, ADAPTER_CONFIG)
LORA_LEAVES = ("lora_a", "lora_b")

FineTuneType = Literal["lora", "dora", "full"]


class LoraParameters(BaseModel):
    """mlx-lm's `lora_parameters`: rank, scale (alpha / rank, not alpha), dropout and the adapted module keys."""

    # Strict: a rank of true or "8" is a broken file, not a rank; other keys are mlx-lm's to define.
    model_config = ConfigDict(extra="allow", strict=True)

    rank: int = Field(ge=1)
    scale: float
    dropout: float = 0.0
    keys: list[str] | None = None  # module paths inside a block; None: mlx-lm's default set


class AdapterConfig(BaseModel):
    """`adapter_config.json`: the keys mlx-lm reads, typed, and any others (mlx-lm's training arguments) as they are."""

    model_config = ConfigDict(extra="allow", strict=True)

    fine_tune_type: FineTuneType = "lora"
    num_layers: int | None = None  # blocks adapted, counted from the top
    lora_parameters: LoraParameters | None = None  # required for lora and dora
    lora_alpha: float | None = None  # ours: the alpha the API was given (mlx-lm only reads the scale)
    model: str | None = None  # the base model trained on, as a path or Hub id (mlx-lm's trainer writes it too)
    distrust: DistrustSpec | None = None  # ours: how the distrust signal shaped the training
    trained_steps: int | None = Field(default=None, ge=0)  # ours: optimizer steps behind these weights

    def lora(self) -> LoraParameters:
        """The LoRA parameters; InvalidArgument naming the field when the file has none."""
        if self.lora_parameters is None:
            raise invalid_field(
                f"{ADAPTER_CONFIG}.lora_parameters",
                None,
                f"an object with rank and scale for a {self.fine_tune_type} adapter",
            )
        return self.lora_parameters

    def lora_spec(self) -> LoraSpec:
        """The LoRA settings that rebuild this adapter's layers (to continue training it)."""
        lora = self.lora()
        alpha = self.lora_alpha if self.lora_alpha is not None else lora.scale * lora.rank
        return LoraSpec(rank=lora.rank, alpha=alpha, layers=self.num_layers, keys=lora.keys, dropout=lora.dropout)

    def to_json(self) -> str:
        """The file's text: unset optional keys left out, other keys kept even when null."""
        data = self.model_dump(exclude_none=True)
        data.update(self.model_extra or {})
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class LoRAPair:
    """The low-rank factors of one adapted linear layer: `a` is [in, rank], `b` is [rank, out]."""

    a: mx.array
    b: mx.array


def require_adapter_files(directory: Path) -> None:
    """NotFound (param `directory`) unless `directory` is a folder holding both adapter files."""
    if not directory.is_dir():
        raise NotFound(f"adapter folder {str(directory)!r} does not exist", param="directory")
    for name in ADAPTER_FILES:
        if not (directory / name).is_file():
            raise NotFound(
                f"adapter folder {str(directory)!r} has no {name} (mlx-lm's adapter layout is "
                f"{ADAPTER_WEIGHTS} + {ADAPTER_CONFIG})",
                param="directory",
            )


def read_adapter_config(directory: Path) -> AdapterConfig:
    """The checked `adapter_config.json` of the adapter folder `directory`.

    NotFound when the folder or one of its two files is missing; InvalidArgument naming the field (e.g.
    `adapter_config.json.lora_parameters.rank`) and its value for a file that is not mlx-lm's format.
    """
    require_adapter_files(directory)
    path = directory / ADAPTER_CONFIG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError covers bad UTF-8 and bad JSON
        raise invalid_field(ADAPTER_CONFIG, str(path), f"readable JSON ({exc})") from exc
    return parse_adapter_config(data)


def parse_adapter_config(data: object) -> AdapterConfig:
    """The typed config from the parsed JSON of an `adapter_config.json`; InvalidArgument names the first bad field."""
    if not isinstance(data, dict):
        raise invalid_field(ADAPTER_CONFIG, data, "a JSON object")
    try:
        config = AdapterConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except InvalidArgument as exc:  # a nested schema's range check names its field without the file
        raise InvalidArgument(f"{ADAPTER_CONFIG}.{exc.message}", param=f"{ADAPTER_CONFIG}.{exc.param}") from exc
    if config.fine_tune_type != "full":
        config.lora()
    return config


def _invalid(exc: ValidationError) -> InvalidArgument:
    error = exc.errors()[0]
    field = ".".join([ADAPTER_CONFIG, *(str(part) for part in error["loc"])])
    if error["type"] == "missing":
        return invalid_field(field, None, "a value (the field is required)")
    if error["type"] == "model_type":
        return invalid_field(field, error["input"], "a JSON object")
    return invalid_field(field, error["input"], error["msg"].removeprefix("Input should be "))


def load_adapter_tensors(directory: Path) -> dict[str, mx.array]:
    """The tensors of `directory`'s `adapters.safetensors`, by name; InvalidArgument when MLX cannot read it."""
    import mlx.core as mx

    path = directory / ADAPTER_WEIGHTS
    try:
        tensors = mx.load(str(path))
    except Exception as exc:  # mlx raises RuntimeError or ValueError, depending on what is wrong with the file
        raise invalid_field(ADAPTER_WEIGHTS, str(path), f"a readable safetensors file ({exc})") from exc
    if not isinstance(tensors, dict):
        raise invalid_field(ADAPTER_WEIGHTS, str(path), "a safetensors file of named tensors")
    return tensors


def lora_pairs(tensors: Mapping[str, mx.array], rank: int) -> dict[str, LoRAPair]:
    """The LoRA factors of each adapted module path, sorted by path.

    InvalidArgument unless every tensor is a `lora_a` or `lora_b`, each path has both, and they are [in, r] and
    [r, out] with r the config's `rank`.
    """
    found: dict[str, dict[str, mx.array]] = {}
    for key, value in tensors.items():
        path, _, leaf = key.rpartition(".")
        if leaf not in LORA_LEAVES or not path:
            raise invalid_field(ADAPTER_WEIGHTS, key, "only LoRA tensors (*.lora_a, *.lora_b)")
        found.setdefault(path, {})[leaf] = value
    if not found:
        raise invalid_field(ADAPTER_WEIGHTS, {}, "LoRA tensors; the file holds none")
    pairs: dict[str, LoRAPair] = {}
    for path, leaves in sorted(found.items()):
        missing = [leaf for leaf in LORA_LEAVES if leaf not in leaves]
        if missing:
            raise invalid_field(ADAPTER_WEIGHTS, path, f"both lora_a and lora_b for the layer; {missing[0]} is missing")
        pairs[path] = _checked_pair(path, leaves["lora_a"], leaves["lora_b"], rank)
    return pairs


def _checked_pair(path: str, a: mx.array, b: mx.array, rank: int) -> LoRAPair:
    a_shape, b_shape = tuple(a.shape), tuple(b.shape)
    if len(a_shape) != 2 or len(b_shape) != 2 or a_shape[1] != b_shape[0]:
        raise invalid_field(
            ADAPTER_WEIGHTS, path, f"lora_a [in, r] and lora_b [r, out] for the layer; got {a_shape} and {b_shape}"
        )
    if a_shape[1] != rank:
        raise invalid_field(
            ADAPTER_WEIGHTS, path, f"rank {rank} as {ADAPTER_CONFIG} says; the layer has rank {a_shape[1]}"
        )
    return LoRAPair(a=a, b=b)


def write_adapter(directory: Path, tensors: Mapping[str, mx.array], config: AdapterConfig) -> None:
    """Write `adapters.safetensors` and `adapter_config.json` into `directory` (created if needed).

    Each file is written beside its final name and renamed into place, so a reader never sees half a file.
    """
    import mlx.core as mx

    directory.mkdir(parents=True, exist_ok=True)
    arrays = dict(tensors)
    mx.eval(arrays)
    weights = directory / ADAPTER_WEIGHTS
    staged = weights.with_name(weights.name + ".tmp.safetensors")
    mx.save_safetensors(str(staged), arrays, metadata={"format": "mlx"})
    os.replace(staged, weights)
    config_path = directory / ADAPTER_CONFIG
    staged = config_path.with_name(config_path.name + ".tmp")
    staged.write_text(config.to_json(), encoding="utf-8")
    os.replace(staged, config_path)
