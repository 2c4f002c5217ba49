"""Dataset preparation: its options, inputs and progress, as the gateway, the scorer and its worker see them.

Every bad option raises `InvalidArgument` whose `param` is the option name and whose message names the value
and the allowed range, so the gRPC / HTTP layers pass it through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import invalid_field
from shared.jobs.records import BaseJob, new_id
from shared.schemas.preference_pairs import PairOptions
from shared.schemas.request import RequestModel

#: Scoring profiles of the scorer library (`distrust-method.md` §5).
PROFILES: tuple[str, ...] = ("strict", "reference")
Profile = Literal["strict", "reference"]

#: The reference skips extracted texts shorter than 100 characters (`reference-implementation.md` §3.3).
DEFAULT_MIN_LENGTH = 100
#: The reference keeps the first 8192 characters of each text (§3.4).
DEFAULT_MAX_CHARS = 8192
#: Guard against one record holding a whole corpus in memory.
MAX_CHARS_LIMIT = 1_000_000
#: The reference splits 80 000 train / 20 000 validation, i.e. 20 % validation (§3.1).
DEFAULT_VAL_FRACTION = 0.2
MAX_VAL_FRACTION = 0.5
#: low / mid / high shares after rebalancing (§3.5 gives 25 / 40 / 35).
DEFAULT_TARGETS: tuple[float, float, float] = (0.25, 0.40, 0.35)
TARGETS_SUM_TOLERANCE = 1e-6
MAX_SEED = 2**63 - 1
MAX_INPUTS = 64


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class PreparationOptions(RequestModel):
    """How to turn raw JSONL inputs into scored, rebalanced train / validation records.

    * `profile`: scoring profile passed to the scorer (`strict` or `reference`).
    * `min_length`: extracted texts shorter than this many characters are rejected (reason `too_short`).
    * `max_chars`: `text` records are cut to this many characters (and scored on the cut text).
    * `targets`: low / mid / high shares after rebalancing; each > 0, summing to 1 (± 1e-6).
    * `val_fraction`: share of records put in the validation set, 0.0 – 0.5.
    * `seed`: seeds the down-sampling of the rebalancing and the shuffle; same seed, same output.
    * `strict`: the first malformed line rejects the whole run with `InvalidArgument`.
    * `dedup`: drop exact and whitespace-normalised duplicate contents (first occurrence wins).
    * `rebalance`: keep all low-authority records and sample mid / high down to `targets`.
    * `keep_existing_scores`: a record that already carries valid `auth_weight` and `prov_entropy` keeps
      them (method `provided`) instead of being re-scored; the reference always re-scores (the default).
    """

    model_config = ConfigDict(frozen=True)

    profile: Profile = "strict"
    min_length: int = DEFAULT_MIN_LENGTH
    max_chars: int = DEFAULT_MAX_CHARS
    targets: tuple[float, float, float] = DEFAULT_TARGETS
    val_fraction: float = DEFAULT_VAL_FRACTION
    seed: int = 42
    strict: bool = False
    dedup: bool = True
    rebalance: bool = True
    keep_existing_scores: bool = False

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        # Checked before pydantic's coercion: "8192", 1.0 or True must be refused, not converted.
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            if isinstance(data, PreparationOptions):
                return data
            raise invalid_field("options", data, "an object")
        known = list(cls.model_fields)
        for key in data:
            if key not in known:
                raise invalid_field(str(key), data[key], f"one of the options {sorted(known)}")
        values = {name: field.default for name, field in cls.model_fields.items()} | dict(data)
        _check_scalars(values)
        values["targets"] = _checked_targets(values["targets"])
        values["val_fraction"] = float(values["val_fraction"])
        return values

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> PreparationOptions:
        """Build options from a JSON-like mapping (e.g. a request body); unknown keys are an error."""
        return cls.model_validate(values)


def _check_scalars(values: dict[str, Any]) -> None:  # open: the request's values, not yet validated
    if not isinstance(values["profile"], str) or values["profile"] not in PROFILES:
        raise invalid_field("profile", values["profile"], f"one of {list(PROFILES)}")
    max_chars, min_length = values["max_chars"], values["min_length"]
    if not _is_int(max_chars) or not 1 <= max_chars <= MAX_CHARS_LIMIT:
        raise invalid_field("max_chars", max_chars, f"an integer in [1, {MAX_CHARS_LIMIT}]")
    if not _is_int(min_length) or not 1 <= min_length <= max_chars:
        raise invalid_field("min_length", min_length, f"an integer in [1, max_chars={max_chars}]")
    vf = values["val_fraction"]
    if not _is_number(vf) or not math.isfinite(vf) or not 0.0 <= vf <= MAX_VAL_FRACTION:
        raise invalid_field("val_fraction", vf, f"a number in [0.0, {MAX_VAL_FRACTION}]")
    if not _is_int(values["seed"]) or not 0 <= values["seed"] <= MAX_SEED:
        raise invalid_field("seed", values["seed"], f"an integer in [0, {MAX_SEED}]")
    for name in ("strict", "dedup", "rebalance", "keep_existing_scores"):
        if not isinstance(values[name], bool):
            raise invalid_field(name, values[name], "true or false")


def _checked_targets(raw: Any) -> tuple[float, float, float]:
    expected = "three positive numbers (low, mid, high) summing to 1"
    if isinstance(raw, str | bytes | Mapping) or not hasattr(raw, "__len__") or len(raw) != 3:
        raise invalid_field("targets", raw, expected)
    values = tuple(raw)
    if not all(_is_number(v) and math.isfinite(v) and v > 0 for v in values):
        raise invalid_field("targets", raw, expected)
    total = math.fsum(values)
    if abs(total - 1.0) > TARGETS_SUM_TOLERANCE:
        raise invalid_field("targets", raw, f"{expected} (± {TARGETS_SUM_TOLERANCE}), they sum to {total}")
    low, mid, high = (float(v) for v in values)
    return low, mid, high


class PreparationInput(RequestModel):
    """One raw input: a file of purpose `raw` (or `fine-tune`) and the source type of all its records."""

    file_id: str
    source_type: str | None = None  # None: derived from the file name


class PreparationProgress(BaseModel):
    """Where a preparation is: its stage and, when known, how far into it."""

    stage: str = "queued"
    done: int = 0
    total: int | None = None
    message: str = ""


class PreparationRecord(BaseJob):
    """A dataset preparation job: who asked for what, how far it is, and once done what it produced."""

    id: str = Field(default_factory=lambda: new_id("dsjob"))
    inputs: list[PreparationInput]
    options: PreparationOptions
    progress: PreparationProgress = PreparationProgress()
    # Each output's file id, recorded as soon as it is stored; the set is complete once the job succeeded.
    train_file: str | None = None
    validation_file: str | None = None
    report_file: str | None = None
    report: dict[str, Any] | None = None  # a PreparationReport's JSON (shared/schemas/preparation_report.py)
    pairs: PairOptions | None = None  # set: the job builds preference pairs from its one input instead
