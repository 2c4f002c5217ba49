"""Fine-tuning's typed schema: hyperparameters, the distrust signal and LoRA, from the HTTP body to the MLX core.

Each field name and default is written here once. Names follow the job API (OpenAI's where one exists), so a
range error names the field as the user wrote it (`hyperparameters.batch_size`, `distrust.alpha`, `lora.rank`).
Values are never clamped: out of range is an `InvalidArgument`, raised while the model is built.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from shared.errors import invalid_field

Auto = Literal["auto"]
DistrustMode = Literal["weighted", "additive", "none"]
Weighting = Literal["plain", "monotone"]
BASE_LEARNING_RATE = 2e-4
ALPHA_RANGE = (2.3, 3.0)
MAX_WEIGHT = 1e6
MAX_STEPS = 10_000_000
MAX_SEQ_LENGTH = 131_072


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(name: str, value: object, low: int, high: int) -> None:
    """Raise InvalidArgument unless `value` is an integer in [low, high]."""
    if not (_is_int(value) and low <= value <= high):  # type: ignore[operator]  # _is_int checked the type
        raise invalid_field(name, value, f"an integer in [{low}, {high}]")


def check_float(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> None:
    """Raise InvalidArgument unless `value` is a finite number in [low, high] (or (low, high] with low_open)."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and (low < number if low_open else low <= number) and number <= high):
        left = "(" if low_open else "["
        raise invalid_field(name, value, f"a number in {left}{low:g}, {high:g}]")


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise InvalidArgument unless `value` is one of `choices`."""
    if value not in choices:
        raise invalid_field(name, value, "one of " + ", ".join(repr(c) for c in choices))


class _Spec(BaseModel):
    """Strict about unknown fields; `null` means "not given", as in the OpenAI SDK's bodies."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:  # pydantic hands over the raw input
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class Hyperparameters(_Spec):
    """OpenAI's supervised hyperparameters ("auto" = ours decides) and our extensions."""

    n_epochs: StrictInt | Auto = "auto"
    batch_size: StrictInt | Auto = "auto"
    learning_rate_multiplier: float | Auto = "auto"
    learning_rate: float | None = None  # None: BASE_LEARNING_RATE x learning_rate_multiplier
    gradient_accumulation_steps: StrictInt = 1  # micro-batches per optimizer step (summed gradients, one update)
    max_seq_length: StrictInt = 512
    warmup_steps: StrictInt = 0
    max_grad_norm: float = 1.0  # 0 = no clipping
    weight_decay: float = 0.0
    eval_every_steps: StrictInt = 0  # 0 = only at the end (with a validation file)
    checkpoint_every_steps: StrictInt = 10
    max_steps: StrictInt | None = None  # cap on optimizer steps

    @model_validator(mode="after")
    def _check(self) -> Hyperparameters:
        hp = "hyperparameters."
        if self.n_epochs != "auto":
            check_int(hp + "n_epochs", self.n_epochs, 1, 1000)
        if self.batch_size != "auto":
            check_int(hp + "batch_size", self.batch_size, 1, 1024)
        if self.learning_rate_multiplier != "auto":
            check_float(hp + "learning_rate_multiplier", self.learning_rate_multiplier, 0.0, 1e4, low_open=True)
        if self.learning_rate is not None:
            check_float(hp + "learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        check_int(hp + "gradient_accumulation_steps", self.gradient_accumulation_steps, 1, 1024)
        check_int(hp + "max_seq_length", self.max_seq_length, 2, MAX_SEQ_LENGTH)
        check_int(hp + "warmup_steps", self.warmup_steps, 0, MAX_STEPS)
        check_float(hp + "max_grad_norm", self.max_grad_norm, 0.0, 1e6)
        check_float(hp + "weight_decay", self.weight_decay, 0.0, 1.0)
        check_int(hp + "eval_every_steps", self.eval_every_steps, 0, MAX_STEPS)
        check_int(hp + "checkpoint_every_steps", self.checkpoint_every_steps, 1, 1_000_000)
        if self.max_steps is not None:
            check_int(hp + "max_steps", self.max_steps, 1, MAX_STEPS)
        return self

    def resolved(self) -> ResolvedHyperparameters:
        """The one place "auto" is resolved: the concrete values trained with and reported back."""
        given = {k: v for k, v in self.model_dump(exclude_none=True).items() if v != "auto"}
        hp = ResolvedHyperparameters.model_validate(given)
        if self.learning_rate is None:
            derived = BASE_LEARNING_RATE * hp.learning_rate_multiplier
            hp = ResolvedHyperparameters.model_validate({**hp.model_dump(), "learning_rate": derived})
        return hp


class ResolvedHyperparameters(Hyperparameters):
    """Hyperparameters with every "auto" replaced by its value (OpenAI reports these back)."""

    n_epochs: StrictInt = 3
    batch_size: StrictInt = 4
    learning_rate_multiplier: float = 1.0
    learning_rate: float = BASE_LEARNING_RATE

    def resolved(self) -> ResolvedHyperparameters:
        """Already resolved."""
        return self


class DistrustSpec(_Spec):
    """How the distrust value acts on training (spec §3)."""

    mode: DistrustMode = "weighted"
    alpha: float = 2.7
    lambda_: float = Field(default=0.6, alias="lambda")  # λ of the additive mode
    weighting: Weighting = "plain"  # "plain" (α·c²) | "monotone" (α·max(0, c)²)
    weight_min: float = 0.05  # clip bounds of the normalised weights: 0 < weight_min <= 1 <= weight_max
    weight_max: float = 20.0

    @property
    def needs_scores(self) -> bool:
        """Whether every training record must carry auth_weight and prov_entropy."""
        return self.mode in ("weighted", "additive")

    @model_validator(mode="after")
    def _check(self) -> DistrustSpec:
        check_float("distrust.alpha", self.alpha, *ALPHA_RANGE)
        check_float("distrust.lambda", self.lambda_, 0.0, MAX_WEIGHT)
        check_float("distrust.weight_min", self.weight_min, 0.0, 1.0, low_open=True)
        check_float("distrust.weight_max", self.weight_max, 1.0, MAX_WEIGHT)
        return self


class LoraSpec(_Spec):
    """LoRA on the top `layers` transformer blocks (None = all), on the block-relative module paths `keys`.

    `keys` None means every linear layer of a block (mlx-lm's default); mlx-lm's `scale` is `alpha / rank`.
    """

    rank: StrictInt = 8
    alpha: float = 16.0
    layers: StrictInt | None = None
    keys: list[str] | None = None
    dropout: float = 0.0

    @property
    def scale(self) -> float:
        """mlx-lm's LoRA scale."""
        return self.alpha / self.rank

    @model_validator(mode="after")
    def _check(self) -> LoraSpec:
        check_int("lora.rank", self.rank, 1, 4096)
        check_float("lora.alpha", self.alpha, 0.0, 1e5, low_open=True)
        if self.layers is not None:
            check_int("lora.layers", self.layers, 1, 4096)
        if self.keys is not None and not (self.keys and all(k.strip() and k == k.strip() for k in self.keys)):
            raise invalid_field(
                "lora.keys", self.keys, 'a non-empty list of module paths inside a block, e.g. ["self_attn.q_proj"]'
            )
        check_float("lora.dropout", self.dropout, 0.0, 0.95)
        return self


class CheckpointMetrics(_Spec):
    """What a checkpoint records of the training at its step."""

    step: StrictInt = 0
    train_loss: float | None = None
    val_loss: float | None = None
