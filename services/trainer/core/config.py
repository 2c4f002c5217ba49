"""Settings of one training run, with validation that names the field, the value and the allowed range.

Field names in errors follow the job API (`hyperparameters.batch_size`, `distrust.alpha`, `lora.rank`, ...), so
an error raised here can be shown to the user unchanged. Values are never clamped: out of range is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import invalid_field

DISTRUST_MODES = ("weighted", "additive", "none")
WEIGHTINGS = ("plain", "monotone")
ALPHA_RANGE = (2.3, 3.0)
MAX_WEIGHT = 1e6
MAX_STEPS = 10_000_000
MAX_SEQ_LENGTH = 131_072


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_int(name: str, value: Any, low: int, high: int) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise invalid_field(name, value, f"an integer in [{low}, {high}]")


def check_float(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> None:
    ok = _is_number(value) and (low < value if low_open else low <= value) and value <= high
    if not ok:
        left = "(" if low_open else "["
        raise invalid_field(name, value, f"a number in {left}{low:g}, {high:g}]")


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise invalid_field(name, value, "one of " + ", ".join(repr(c) for c in choices))


@dataclass(frozen=True)
class DistrustSettings:
    """How the distrust value acts on training (spec §3)."""

    mode: str = "weighted"  # "weighted" | "additive" | "none"
    alpha: float = 2.7  # [2.3, 3.0]
    lam: float = 0.6  # λ of the additive mode, >= 0
    weighting: str = "plain"  # "plain" (α·c²) | "monotone" (α·max(0, c)²)
    weight_min: float = 0.05
    weight_max: float = 20.0  # 0 < weight_min <= 1 <= weight_max

    @property
    def needs_scores(self) -> bool:
        """Whether every training record must carry auth_weight and prov_entropy."""
        return self.mode in ("weighted", "additive")

    def validate(self) -> None:
        check_choice("distrust.mode", self.mode, DISTRUST_MODES)
        check_float("distrust.alpha", self.alpha, *ALPHA_RANGE)
        check_float("distrust.lambda", self.lam, 0.0, MAX_WEIGHT)
        check_choice("distrust.weighting", self.weighting, WEIGHTINGS)
        check_float("distrust.weight_min", self.weight_min, 0.0, 1.0, low_open=True)
        check_float("distrust.weight_max", self.weight_max, 1.0, MAX_WEIGHT)


@dataclass(frozen=True)
class LoraSettings:
    """LoRA on the top `layers` transformer blocks (None = all), on the block-relative module paths `keys`
    (None = every linear layer of a block, mlx-lm's default). mlx-lm's `scale` is `alpha / rank`.
    """

    rank: int = 8
    alpha: float = 16.0
    layers: int | None = None
    keys: tuple[str, ...] | None = None
    dropout: float = 0.0

    @property
    def scale(self) -> float:
        return float(self.alpha) / float(self.rank)

    def validate(self) -> None:
        check_int("lora.rank", self.rank, 1, 4096)
        check_float("lora.alpha", self.alpha, 0.0, 1e5, low_open=True)
        if self.layers is not None:
            check_int("lora.layers", self.layers, 1, 4096)
        if self.keys is not None:
            ok = (
                isinstance(self.keys, tuple | list)
                and len(self.keys) > 0
                and all(isinstance(k, str) and k.strip() and k == k.strip() for k in self.keys)
            )
            if not ok:
                raise invalid_field(
                    "lora.keys", self.keys, 'a non-empty list of module paths inside a block, e.g. ["self_attn.q_proj"]'
                )
        check_float("lora.dropout", self.dropout, 0.0, 0.95)


@dataclass(frozen=True)
class TrainSettings:
    """One training run. Paths are local; `validate()` checks values only, not that the files exist."""

    model_path: Path  # a local HF-layout folder mlx_lm.load opens
    train_path: Path  # JSONL, spec §6 records
    val_path: Path | None = None
    seed: int = 0
    n_epochs: int = 1
    batch_size: int = 4  # examples per micro-batch
    grad_accum_steps: int = 1  # micro-batches per optimizer step (summed gradients, one update)
    learning_rate: float = 1e-4
    warmup_steps: int = 0
    max_grad_norm: float = 1.0  # 0 = no clipping
    weight_decay: float = 0.0
    max_seq_length: int = 512
    max_steps: int | None = None  # cap on optimizer steps
    eval_every_steps: int = 0  # 0 = only at the end (if val_path)
    completion_only: bool = True
    distrust: DistrustSettings = field(default_factory=DistrustSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)

    def __post_init__(self) -> None:
        # Accept str paths from callers; keep the dataclass frozen.
        for name in ("model_path", "train_path", "val_path"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))
        if isinstance(self.lora, LoraSettings) and isinstance(self.lora.keys, list):
            object.__setattr__(self, "lora", LoraSettings(**{**self.lora.__dict__, "keys": tuple(self.lora.keys)}))

    def validate(self) -> None:
        """Raise InvalidArgument naming the first bad field, its value and the allowed range."""
        for name in ("model_path", "train_path"):
            if not isinstance(getattr(self, name), Path):
                raise invalid_field(name, getattr(self, name), "a path")
        if self.val_path is not None and not isinstance(self.val_path, Path):
            raise invalid_field("val_path", self.val_path, "a path or null")
        check_int("seed", self.seed, 0, 2**32 - 1)
        hp = "hyperparameters."
        check_int(hp + "n_epochs", self.n_epochs, 1, 1000)
        check_int(hp + "batch_size", self.batch_size, 1, 1024)
        check_int(hp + "gradient_accumulation_steps", self.grad_accum_steps, 1, 1024)
        check_float(hp + "learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        check_int(hp + "warmup_steps", self.warmup_steps, 0, MAX_STEPS)
        check_float(hp + "max_grad_norm", self.max_grad_norm, 0.0, 1e6)
        check_float(hp + "weight_decay", self.weight_decay, 0.0, 1.0)
        check_int(hp + "max_seq_length", self.max_seq_length, 2, MAX_SEQ_LENGTH)
        if self.max_steps is not None:
            check_int(hp + "max_steps", self.max_steps, 1, MAX_STEPS)
        check_int(hp + "eval_every_steps", self.eval_every_steps, 0, MAX_STEPS)
        if not isinstance(self.completion_only, bool):
            raise invalid_field("completion_only", self.completion_only, "true or false")
        if not isinstance(self.distrust, DistrustSettings):
            raise invalid_field("distrust", self.distrust, "distrust settings")
        if not isinstance(self.lora, LoraSettings):
            raise invalid_field("lora", self.lora, "LoRA settings")
        self.distrust.validate()
        self.lora.validate()

    def continuation_fingerprint(self) -> dict[str, Any]:
        """The settings a checkpoint must agree on to continue exactly (paths and eval cadence excluded)."""
        return {
            "seed": self.seed,
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "grad_accum_steps": self.grad_accum_steps,
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "max_grad_norm": self.max_grad_norm,
            "weight_decay": self.weight_decay,
            "max_seq_length": self.max_seq_length,
            "max_steps": self.max_steps,
            "completion_only": self.completion_only,
            "distrust": dict(self.distrust.__dict__),
            "lora": {**self.lora.__dict__, "keys": list(self.lora.keys) if self.lora.keys is not None else None},
        }
