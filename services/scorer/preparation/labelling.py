"""Scoring a candidate and building its output record (spec §6 / reference §3.4 format).

Output record, keys in this order:

* the content: `text` (cut to max_chars) | `messages` | `prompt` + `completion`, as in the input;
* `auth_weight`, `prov_entropy`: rounded to 4 decimals (bands are computed on the rounded value, which is
  what the trainer sees);
* `source_type`: the resolved type, or "unknown";
* `trivium_category`: grammar | logic | rhetoric, only when one is known (fixed per known source type);
* `scoring_method`: from the scorer (`hybrid` when a known source type was given, else `dynamic`), or
  `provided` for kept existing scores;
* `metadata`: only when non-empty (see `extract.output_metadata`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import InternalError, InvalidArgument
from shared.schemas.preparation_report import Band

from .extract import Content, MalformedLine, output_metadata
from .rebalance import band_of
from .sources import KNOWN_SOURCE_TYPES, UNKNOWN_SOURCE_TYPE, trivium_category

#: Anything called as score(text, metadata) returning an object with auth_weight, prov_entropy and
#: (optionally) scoring_method, e.g. `services.scorer.scoring.score_document` bound to a profile.
ScoreFn = Callable[[str, Mapping[str, Any] | None], Any]

AUTH_WEIGHT_MAX = 0.99
SCORE_DECIMALS = 4
PROVIDED_METHOD = "provided"
_DOCUMENT_PREFIX = re.compile(r"^documents\[\d+\]\.")


def default_scorer(profile: str) -> ScoreFn:
    """The real scorer, `services.scorer.scoring.score_document` with `profile`, imported lazily."""
    try:
        from services.scorer.scoring import score_document
    except ImportError as exc:  # a deployment problem, not the caller's
        raise InternalError(f"the scoring library services.scorer.scoring cannot be imported: {exc}") from exc

    def score(text: str, metadata: Mapping[str, Any] | None) -> Any:
        return score_document(text, metadata, profile=profile)

    return score


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def provided_scores(record: Mapping[str, Any]) -> tuple[float, float] | None:
    """Existing (auth_weight, prov_entropy) of a record, None when it has neither; bad values are rejected."""
    w, h = record.get("auth_weight"), record.get("prov_entropy")
    if w is None and h is None:
        return None
    if w is None or h is None:
        raise MalformedLine("invalid_scores", "auth_weight and prov_entropy must be given together or not at all")
    if not _is_real(w) or not 0.0 <= w <= AUTH_WEIGHT_MAX:
        raise MalformedLine("invalid_scores", f"auth_weight: got {w!r}, expected a number in [0.0, {AUTH_WEIGHT_MAX}]")
    if not _is_real(h) or h < 0.0:
        raise MalformedLine("invalid_scores", f"prov_entropy: got {h!r}, expected a finite number ≥ 0")
    return float(w), float(h)


def scorer_metadata(record: Mapping[str, Any], source_type: str | None) -> dict[str, Any]:
    """The raw record as the scorer's metadata (as in the reference), with `source_type` resolved.

    `source_type` is set to the resolved type when it is a known one, and removed otherwise: the scorer blends
    any source type it is given with a prior (a default one for types it does not know), and a record of
    unknown type is scored dynamically.
    """
    metadata = dict(record)
    if source_type in KNOWN_SOURCE_TYPES:
        metadata["source_type"] = source_type
    else:
        metadata.pop("source_type", None)
    return metadata


def _field(result: Any, name: str) -> Any:
    if isinstance(result, Mapping):
        return result.get(name)
    return getattr(result, name, None)


@dataclass(slots=True)
class Labelled:
    """A scored output record plus what the pipeline needs to count it."""

    input_index: int
    record: dict[str, Any]  # open: the output record (the user's fields, scores and labels)
    band: Band

    @property
    def auth_weight(self) -> float:
        return float(self.record["auth_weight"])

    @property
    def prov_entropy(self) -> float:
        return float(self.record["prov_entropy"])


def _checked_scores(result: Any, where: str) -> tuple[float, float]:
    w, h = _field(result, "auth_weight"), _field(result, "prov_entropy")
    if not _is_real(w) or not 0.0 <= w <= AUTH_WEIGHT_MAX:
        raise InternalError(f"scorer returned auth_weight={w!r} for {where}; expected a number in [0.0, 0.99]")
    if not _is_real(h) or h < 0.0:
        raise InternalError(f"scorer returned prov_entropy={h!r} for {where}; expected a finite number ≥ 0")
    return float(w), float(h)


def label(
    *,
    input_index: int,
    where: str,
    content: Content,
    source_type: str | None,
    record: Mapping[str, Any],
    provided: tuple[float, float] | None,
    score: ScoreFn,
) -> Labelled:
    """Score (or keep provided scores) and build the output record.

    A scorer `InvalidArgument` about this record becomes a `MalformedLine` (code `scoring_failed`); any other
    error propagates. `where` ("file line N") names the record in errors.
    """
    if provided is not None:
        w, h = provided
        method = PROVIDED_METHOD
    else:
        try:
            result = score(content.text, scorer_metadata(record, source_type))
        except InvalidArgument as exc:
            # the scorer names the field as documents[0].…; here the file and line already say which record
            message = _DOCUMENT_PREFIX.sub("", exc.message)
            raise MalformedLine("scoring_failed", f"scoring failed: {message}") from None
        w, h = _checked_scores(result, where)
        method = str(_field(result, "scoring_method") or "unspecified")
    out: dict[str, Any] = dict(content.fields)  # open: the user's record, scores and labels added
    out["auth_weight"] = round(w, SCORE_DECIMALS)
    out["prov_entropy"] = round(h, SCORE_DECIMALS)
    out["source_type"] = source_type or UNKNOWN_SOURCE_TYPE
    category = trivium_category(source_type, record)
    if category is not None:
        out["trivium_category"] = category
    out["scoring_method"] = method
    metadata = output_metadata(dict(record), content.used_fields)
    if metadata:
        out["metadata"] = metadata
    return Labelled(input_index=input_index, record=out, band=band_of(out["auth_weight"]))
