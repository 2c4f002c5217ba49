"""Options of one dataset preparation run, validated when they are built.

Every bad value raises `InvalidArgument` whose `param` is the option name and whose message names the value
and the allowed range, so the gRPC / HTTP layers can pass it through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from shared.errors import invalid_field

#: Scoring profiles of the scorer library (`distrust-method.md` §5).
PROFILES: tuple[str, ...] = ("strict", "reference")

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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class PrepareOptions:
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

    profile: str = "strict"
    min_length: int = DEFAULT_MIN_LENGTH
    max_chars: int = DEFAULT_MAX_CHARS
    targets: tuple[float, float, float] = DEFAULT_TARGETS
    val_fraction: float = DEFAULT_VAL_FRACTION
    seed: int = 42
    strict: bool = False
    dedup: bool = True
    rebalance: bool = True
    keep_existing_scores: bool = False

    def __post_init__(self) -> None:
        self._validate()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> PrepareOptions:
        """Build options from a JSON-like mapping (e.g. a request body); unknown keys are an error."""
        if values is None:
            return cls()
        if not isinstance(values, Mapping):
            raise invalid_field("options", values, "an object")
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise invalid_field(str(key), values[key], f"one of the options {sorted(known)}")
        kwargs = dict(values)
        if isinstance(kwargs.get("targets"), list):
            kwargs["targets"] = tuple(kwargs["targets"])
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy of the options (targets as a list)."""
        out = asdict(self)
        out["targets"] = list(self.targets)
        return out

    def _validate(self) -> None:
        if not isinstance(self.profile, str) or self.profile not in PROFILES:
            raise invalid_field("profile", self.profile, f"one of {list(PROFILES)}")
        if not _is_int(self.max_chars) or not 1 <= self.max_chars <= MAX_CHARS_LIMIT:
            raise invalid_field("max_chars", self.max_chars, f"an integer in [1, {MAX_CHARS_LIMIT}]")
        if not _is_int(self.min_length) or not 1 <= self.min_length <= self.max_chars:
            raise invalid_field("min_length", self.min_length, f"an integer in [1, max_chars={self.max_chars}]")
        self._validate_targets()
        vf = self.val_fraction
        if not _is_number(vf) or not math.isfinite(vf) or not 0.0 <= vf <= MAX_VAL_FRACTION:
            raise invalid_field("val_fraction", vf, f"a number in [0.0, {MAX_VAL_FRACTION}]")
        object.__setattr__(self, "val_fraction", float(vf))
        if not _is_int(self.seed) or not 0 <= self.seed <= MAX_SEED:
            raise invalid_field("seed", self.seed, f"an integer in [0, {MAX_SEED}]")
        for name in ("strict", "dedup", "rebalance", "keep_existing_scores"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise invalid_field(name, value, "true or false")

    def _validate_targets(self) -> None:
        expected = "three positive numbers (low, mid, high) summing to 1"
        raw = self.targets
        if isinstance(raw, (str, bytes, Mapping)) or not hasattr(raw, "__len__") or len(raw) != 3:
            raise invalid_field("targets", raw, expected)
        values = tuple(raw)
        if not all(_is_number(v) and math.isfinite(v) and v > 0 for v in values):
            raise invalid_field("targets", raw, expected)
        total = math.fsum(values)
        if abs(total - 1.0) > TARGETS_SUM_TOLERANCE:
            raise invalid_field("targets", raw, f"{expected} (± {TARGETS_SUM_TOLERANCE}), they sum to {total}")
        object.__setattr__(self, "targets", tuple(float(v) for v in values))
