"""Fine-tuning's typed schema: hyperparameters, the distrust signal and LoRA, from the HTTP body to the MLX core.

Each field name, default, range and "auto" value is written here once, on the field. Names follow the job API
(OpenAI's where one exists), so a range error names the field as the user wrote it (`<group>.<name>`, its alias
where the name is a Python keyword). Values are never clamped: out of range is an `InvalidArgument`, raised while
the model is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, Literal, Never, Self, TypeVar, Union, cast, get_args, get_origin

from annotated_types import Interval
from pydantic import (
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo

from shared.errors import InvalidArgument, invalid_field
from shared.schemas.request import RequestModel

Auto = Literal["auto"]
A = TypeVar("A")  # what a field may hold besides its value: `Auto` in a request, `Never` once resolved
AUTO: Any = "auto"  # a field's default in the generic form; Any because it fits `int | Auto` but not `int | A`
DistrustMode = Literal["weighted", "additive", "none"]
TrainingMethod = Literal["supervised", "dpo"]  # OpenAI's `method.type`
PreferenceLoss = Literal["sigmoid", "ipo", "simpo"]  # DPO's sigmoid loss, IPO, reference-free SimPO
Weighting = Literal["plain", "monotone"]
Precision = Literal["auto", "float32", "bfloat16", "float16"]  # "auto": float32 on CPU, bfloat16 on Metal
QuantizeBits = Literal[4, 8]
TrainingDtype = Literal["float32", "bfloat16", "float16"]  # a precision once "auto" is resolved
DTYPE_BYTES: dict[str, int] = {"float32": 4, "bfloat16": 2, "float16": 2}
# Adam's epsilon (1e-8) is zero in float16, so a zero gradient's update is 0/0: float16 adapters go NaN on the
# first step and stay float32.
ADAPTER_DTYPE: dict[str, TrainingDtype] = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float32"}
BASE_LEARNING_RATE = 2e-4
ALPHA_RANGE = (2.3, 3.0)
MAX_WEIGHT = 1e6
MAX_STEPS = 10_000_000
MAX_SEQ_LENGTH = 131_072
# pydantic's error types for a value of the right type outside what the field allows (the rest are type errors)
_OUT_OF_RANGE = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "finite_number",
        "too_short",
        "too_long",
        "string_pattern_mismatch",
    }
)


def describe_range(low: float, high: float, *, integer: bool, low_open: bool = False) -> str:
    """What an error says is allowed: "an integer in [1, 1000]" or "a number in (0, 1]"."""
    if integer:
        return f"an integer in [{low}, {high}]"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"


def check_int(name: str, value: object, low: int, high: int) -> None:
    """Raise InvalidArgument unless `value` is an integer in [low, high]."""
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise invalid_field(name, value, describe_range(low, high, integer=True))


def check_float(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> None:
    """Raise InvalidArgument unless `value` is a finite number in [low, high] (or (low, high] with low_open)."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and (low < number if low_open else low <= number) and number <= high):
        raise invalid_field(name, value, describe_range(low, high, integer=False, low_open=low_open))


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise InvalidArgument unless `value` is one of `choices`."""
    if value not in choices:
        raise invalid_field(name, value, "one of " + ", ".join(repr(c) for c in choices))


@dataclass(frozen=True)
class AutoIs:
    """Field metadata: what the field's "auto" resolves to, a value or one derived from the resolved others."""

    value: float | Callable[[ResolvedHyperparameters], float]


@dataclass(frozen=True)
class Reporting:
    """Field metadata: the field sets how often progress is reported, not what is computed."""


@dataclass(frozen=True)
class MemoryOnly:
    """Field metadata: the field changes how much memory a step holds, not what it computes."""


def _members(field: FieldInfo) -> tuple[Any, ...]:
    """The field's type, or a union's members (pydantic keeps `Annotated` inside a union as written)."""
    union = get_origin(field.annotation) in (Union, UnionType)
    return get_args(field.annotation) if union else (field.annotation,)


def _metadata(field: FieldInfo) -> list[object]:
    """The field's metadata, with that of a union's `Annotated` members (`Annotated[int, ...] | Auto`)."""
    return [*field.metadata, *(m for member in _members(field) for m in getattr(member, "__metadata__", ()))]


def _allowed(field: FieldInfo) -> str:
    """What the field allows, as an error states it: its `Interval`, else its description."""
    bounds = next((m for m in _metadata(field) if isinstance(m, Interval)), None)
    if bounds is None:
        return field.description or "a valid value"
    integer = any(getattr(member, "__origin__", member) is int for member in _members(field))
    low = bounds.gt if bounds.gt is not None else bounds.ge
    return describe_range(low, bounds.le, integer=integer, low_open=bounds.gt is not None)  # type: ignore[arg-type]  # every range here is bounded both sides


class _Spec(RequestModel):
    """Strict about unknown fields; `null` means "not given", as in the OpenAI SDK's bodies.

    An out-of-range value becomes `InvalidArgument` naming `<group>.<field>` as the API spells it, the value and
    the range; a value of the wrong type stays pydantic's `ValidationError`.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)
    group: ClassVar[str]

    @classmethod
    def _prepare(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    @model_validator(mode="wrap")
    @classmethod
    def _validate(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:  # pydantic hands over raw input
        data = cls._prepare(data)
        try:
            return handler(data)
        except ValidationError as exc:
            raise cls._out_of_range(exc, data) or exc from None

    @classmethod
    def _out_of_range(cls, exc: ValidationError, data: Any) -> InvalidArgument | None:
        fields = {f.alias or name: f for name, f in cls.model_fields.items()}
        names = {name: f.alias or name for name, f in cls.model_fields.items()}
        for error in exc.errors():
            key = error["loc"][0] if error["loc"] else None
            if error["type"] in _OUT_OF_RANGE and isinstance(key, str):
                name = names.get(key, key)
                value = data[key] if isinstance(data, dict) and key in data else error["input"]
                return invalid_field(f"{cls.group}.{name}", value, _allowed(fields[name]))
        return None


def _scaled_base_rate(hp: ResolvedHyperparameters) -> float:
    """An "auto" learning rate: OpenAI's rule, the base rate times the multiplier."""
    return BASE_LEARNING_RATE * hp.learning_rate_multiplier


class HyperparametersOf(_Spec, Generic[A]):
    """OpenAI's supervised hyperparameters and our extensions; `A` is what a field holds besides a value."""

    group: ClassVar[str] = "hyperparameters"
    n_epochs: Annotated[StrictInt, Interval(ge=1, le=1000), AutoIs(3)] | A = AUTO
    batch_size: Annotated[StrictInt, Interval(ge=1, le=1024), AutoIs(4)] | A = AUTO
    learning_rate_multiplier: Annotated[float, Interval(gt=0, le=1e4), AutoIs(1.0)] | A = AUTO
    learning_rate: Annotated[float, Interval(gt=0, le=1), AutoIs(_scaled_base_rate)] | A = AUTO  # ours
    # micro-batches per optimizer step (summed gradients, one update)
    gradient_accumulation_steps: Annotated[StrictInt, Interval(ge=1, le=1024)] = 1
    max_seq_length: Annotated[StrictInt, Interval(ge=2, le=MAX_SEQ_LENGTH)] = 512
    warmup_steps: Annotated[StrictInt, Interval(ge=0, le=MAX_STEPS)] = 0
    max_grad_norm: Annotated[float, Interval(ge=0, le=1e6)] = 1.0  # 0 = no clipping
    weight_decay: Annotated[float, Interval(ge=0, le=1)] = 0.0
    # 0 = only at the end (with a validation file)
    eval_every_steps: Annotated[StrictInt, Interval(ge=0, le=MAX_STEPS), Reporting()] = 0
    checkpoint_every_steps: Annotated[StrictInt, Interval(ge=1, le=1_000_000), Reporting()] = 10
    max_steps: Annotated[StrictInt, Interval(ge=1, le=MAX_STEPS)] | None = None  # cap on optimizer steps
    # the worker resolves "auto", since the device that trains decides it (so it stays "auto" once resolved)
    precision: Precision = "auto"
    # QLoRA: a full-precision base quantized at load; an already-quantized base trains as stored
    quantize_base: QuantizeBits | None = Field(default=None, description="4 or 8 (bits), or null")
    gradient_checkpointing: Annotated[bool, MemoryOnly()] = False

    @classmethod
    def _prepare(cls, data: Any) -> Any:
        if isinstance(data, HyperparametersOf) and not isinstance(data, cls):
            data = data.model_dump()  # a resolved set is a valid request: OpenAI's job echoes it in `method`
        return super()._prepare(data)

    def resolved(self) -> ResolvedHyperparameters:
        """The concrete values trained with and reported back."""
        if isinstance(self, ResolvedHyperparameters):
            return self
        return ResolvedHyperparameters.model_validate(self.model_dump())

    def computed(self, *, resolve: Callable[[Precision], str] | None = None) -> dict[str, Any]:
        """The values that change what training computes: all but the reporting cadence and memory savers.

        `resolve` turns precision "auto" into the dtype of the device that trains.
        """
        markers = (Reporting(), MemoryOnly())
        fields = type(self).model_fields.items()
        values = self.model_dump(exclude={name for name, f in fields if any(m in _metadata(f) for m in markers)})
        if resolve is not None:
            values.update(precision=resolve(self.precision))
        return values


class Hyperparameters(HyperparametersOf[Auto]):
    """The hyperparameters as requested: "auto" (the default) means ours decides."""


def _without_auto_defaults(schema: JsonDict) -> None:
    for field in cast(dict[str, JsonDict], schema.get("properties", {})).values():
        if field.get("default") == AUTO:
            del field["default"]  # once resolved, "auto" is never a value: the generic form's default does not apply


class ResolvedHyperparameters(HyperparametersOf[Never]):
    """Every "auto" replaced by its value (OpenAI reports these back); a field not given is "auto"."""

    model_config = ConfigDict(json_schema_extra=_without_auto_defaults)

    @classmethod
    def _prepare(cls, data: Any) -> Any:
        """The one place "auto" is resolved, to each field's `AutoIs`; derived values after the others."""
        data = super()._prepare(data)
        if not isinstance(data, dict):
            return data
        given = Hyperparameters.model_validate(data)
        autos = {
            name: auto for name, f in cls.model_fields.items() for auto in _metadata(f) if isinstance(auto, AutoIs)
        }
        values = dict(given)
        values.update({n: a.value for n, a in autos.items() if values[n] == AUTO and not callable(a.value)})
        so_far = cls.model_construct(**values)
        values.update({n: a.value(so_far) for n, a in autos.items() if values[n] == AUTO and callable(a.value)})
        return values


class DistrustSpec(_Spec):
    """How the distrust value acts on training (spec §3)."""

    group: ClassVar[str] = "distrust"
    mode: DistrustMode = "weighted"
    alpha: Annotated[float, Interval(ge=ALPHA_RANGE[0], le=ALPHA_RANGE[1])] = 2.7
    lambda_: Annotated[float, Interval(ge=0, le=MAX_WEIGHT)] = Field(default=0.6, alias="lambda")  # additive mode's λ
    weighting: Weighting = "plain"  # "plain" (α·c²) | "monotone" (α·max(0, c)²)
    # clip bounds of the normalised weights, one at most 1 and one at least 1
    weight_min: Annotated[float, Interval(gt=0, le=1)] = 0.05
    weight_max: Annotated[float, Interval(ge=1, le=MAX_WEIGHT)] = 20.0

    @property
    def needs_scores(self) -> bool:
        """Whether every training record must carry auth_weight and prov_entropy."""
        return self.mode in ("weighted", "additive")


ModulePath = Annotated[str, StringConstraints(pattern=r"^\S(?:[\s\S]*\S)?$")]  # no blank or padded path


class LoraSpec(_Spec):
    """LoRA on the top transformer blocks (None = all), on block-relative module paths.

    No module paths means every linear layer of a block (mlx-lm's default); mlx-lm's scale is α / r.
    """

    group: ClassVar[str] = "lora"
    rank: Annotated[StrictInt, Interval(ge=1, le=4096)] = 8
    alpha: Annotated[float, Interval(gt=0, le=1e5)] = 16.0
    layers: Annotated[StrictInt, Interval(ge=1, le=4096)] | None = None
    keys: Annotated[list[ModulePath], Field(min_length=1)] | None = Field(
        default=None, description='a non-empty list of module paths inside a block, e.g. ["self_attn.q_proj"]'
    )
    dropout: Annotated[float, Interval(ge=0, le=0.95)] = 0.0

    @property
    def scale(self) -> float:
        """mlx-lm's LoRA scale."""
        return self.alpha / self.rank


Beta = Annotated[float, Interval(gt=0, le=100)]
AUTO_BETA = 0.1  # OpenAI's and TRL's default


class PreferenceSpec(_Spec):
    """How a preference (DPO) job compares its pairs; `beta` is also OpenAI's `method.dpo.hyperparameters.beta`."""

    group: ClassVar[str] = "preference"
    loss: PreferenceLoss = "sigmoid"
    beta: Beta | Auto = AUTO  # the pull toward the reference (DPO, IPO) or the reward scale (SimPO)
    gamma: Annotated[float, Interval(ge=0, le=100)] = 0.5  # SimPO's target reward margin
    # weight of the chosen answer's own mean token NLL added to every pair's loss (RPO; TRL's `rpo_alpha`)
    rpo_alpha: Annotated[float, Interval(ge=0, le=100)] = 0.0
    # each pair's loss weighted by its provenance margin (`metadata.margin`, normalised to mean 1)
    weight_by_margin: bool = False

    @property
    def beta_value(self) -> float:
        """β with "auto" resolved."""
        return AUTO_BETA if self.beta == AUTO else float(self.beta)

    def resolved(self) -> PreferenceSpec:
        """The spec as reported back: "auto" replaced by its value."""
        return self.model_copy(update={"beta": self.beta_value})


class CheckpointMetrics(_Spec):
    """What a checkpoint records of the training at its step."""

    group: ClassVar[str] = "metrics"
    step: StrictInt = 0
    train_loss: float | None = None
    val_loss: float | None = None
