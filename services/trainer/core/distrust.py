"""The distrust value of an example and the per-example training weights derived from it (spec §2, §3, §4).

    c(w, H) = ln(1 − w + 1e-8) + H          (shared/distrust.py)
    L(w, H) = α · c²                         α in [2.3, 3.0]

`weighted` mode: raw r_i = L(w_i, H_i) ("plain") or α·max(0, c_i)² ("monotone"), normalised over the whole
training set, ω_i = r_i / mean_j r_j, then clipped to [weight_min, weight_max]. Computed in float64 with numpy:
this is data preparation, done once per run, not part of the differentiated graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, get_args

import numpy as np

from shared.distrust import distrust_value
from shared.errors import invalid_field
from shared.schemas.fine_tuning import ALPHA_RANGE, DistrustSpec, Weighting, check_choice, check_float

REDUCTIONS = ("mean", "sum", "none")
BANDS = ("low", "mid", "high")


def _check_alpha(alpha: float) -> None:
    check_float("alpha", alpha, *ALPHA_RANGE)


def distrust_loss(
    auth_weight: Any, prov_entropy: Any, alpha: float = 2.7, reduction: str = "mean"
) -> float | np.ndarray:
    """L = α · c² per example, reduced with "mean" (default), "sum" or "none" (the per-example array)."""
    _check_alpha(alpha)
    if reduction not in REDUCTIONS:
        raise invalid_field("reduction", reduction, "one of 'mean', 'sum', 'none'")
    per_example: np.ndarray = alpha * np.square(distrust_value(auth_weight, prov_entropy))
    if reduction == "none":
        return per_example
    if reduction == "sum":
        return float(np.sum(per_example))
    return float(np.mean(per_example)) if per_example.size else 0.0


def raw_weights(auth_weight: Any, prov_entropy: Any, *, alpha: float = 2.7, weighting: str = "plain") -> np.ndarray:
    """r_i: α·c_i² ("plain", U-shaped in c) or α·max(0, c_i)² ("monotone": decreasing in w, increasing in H)."""
    _check_alpha(alpha)
    check_choice("distrust.weighting", weighting, get_args(Weighting))
    c = distrust_value(auth_weight, prov_entropy)
    if weighting == "monotone":
        c = np.maximum(c, 0.0)
    raw: np.ndarray = alpha * np.square(c)
    return raw


def normalise_weights(raw: Any, *, weight_min: float = 0.05, weight_max: float = 20.0) -> np.ndarray:
    """ω_i = r_i / mean_j r_j over the given set (the training set), clipped to [weight_min, weight_max].

    If every r_i is 0 (every example at c = 0) there is nothing to rank by: all weights are 1.
    """
    r = np.asarray(raw, dtype=np.float64)
    if r.size == 0:
        return r
    mean = float(np.mean(r))
    if not mean > 0.0:
        return np.ones_like(r)
    return np.clip(r / mean, weight_min, weight_max)


def band_of(auth_weight: float) -> str:
    """Authority band (spec §4): low w < 0.3; mid 0.3 <= w <= 0.7; high w > 0.7."""
    if auth_weight < 0.3:
        return "low"
    if auth_weight <= 0.7:
        return "mid"
    return "high"


class WeightStats(TypedDict):
    """count, min, mean, max of a set of weights (None when the set is empty)."""

    count: int
    min: float | None
    mean: float | None
    max: float | None


def _stats(values: np.ndarray) -> WeightStats:
    if values.size == 0:
        return {"count": 0, "min": None, "mean": None, "max": None}
    return {
        "count": int(values.size),
        "min": float(values.min()),
        "mean": float(values.mean()),
        "max": float(values.max()),
    }


def weight_distribution(
    weights: Sequence[float] | np.ndarray, auth_weights: Sequence[float | None]
) -> dict[str, WeightStats]:
    """Per band ("low", "mid", "high") and "overall": count, min, mean, max of the weights.

    Examples without an auth_weight (possible only in mode "none") count in "overall" only.
    """
    omega = np.asarray(weights, dtype=np.float64)
    out: dict[str, WeightStats] = {}
    for band in BANDS:
        picked = [i for i, w in enumerate(auth_weights) if w is not None and band_of(w) == band]
        out[band] = _stats(omega[picked] if picked else np.zeros(0))
    out["overall"] = _stats(omega)
    return out


@dataclass(frozen=True)
class TrainingWeights:
    """The distrust loss and the weights of every training example.

    Per example: L = α·c² (`distrust`), ω before clipping and ω (`omega`, float64), and the factor on its CE in
    the loss (`factors`, float32: ω for `weighted`, 1 for `additive` and `none`).
    """

    distrust: np.ndarray
    unclipped: np.ndarray
    omega: np.ndarray
    factors: np.ndarray


def training_weights(
    auth_weights: Sequence[float | None], prov_entropies: Sequence[float | None], settings: DistrustSpec
) -> TrainingWeights:
    """The weights of a whole training set; scores are needed (and present) only for weighted / additive."""
    n = len(auth_weights)
    if not settings.needs_scores:
        ones = np.ones(n)
        return TrainingWeights(distrust=np.zeros(n), unclipped=ones, omega=ones, factors=ones.astype(np.float32))
    w = np.asarray(auth_weights, dtype=np.float64)
    h = np.asarray(prov_entropies, dtype=np.float64)
    raw = raw_weights(w, h, alpha=settings.alpha, weighting=settings.weighting)
    mean = float(raw.mean()) if n else 0.0
    omega = normalise_weights(raw, weight_min=settings.weight_min, weight_max=settings.weight_max)
    factors = omega if settings.mode == "weighted" else np.ones(n)
    return TrainingWeights(
        distrust=np.asarray(distrust_loss(w, h, settings.alpha, reduction="none")),
        unclipped=raw / mean if mean > 0 else np.ones(n),
        omega=omega,
        factors=factors.astype(np.float32),
    )


def weight_summary(
    weights: TrainingWeights, auth_weights: Sequence[float | None], settings: DistrustSpec
) -> dict[str, Any]:
    """What to log at job start (spec §3.4).

    The distrust spec, and per band ("low" / "mid" / "high") and "overall" the count, min, mean, max of the effective weight on each example's CE (ω for `weighted`; 1 for `additive` and
    `none`, whose gradient is plain CE); for weighted, how many were clipped; with scores, the same statistics
    of L = α·c² under "distrust_loss".
    """
    effective = weights.omega if settings.mode == "weighted" else np.ones(len(auth_weights))
    summary: dict[str, Any] = settings.model_dump()  # open: it becomes an event's free-form data
    summary.update(weight_distribution(effective, auth_weights))
    if settings.mode == "weighted":
        summary["clipped"] = {
            "at_min": int(np.sum(weights.unclipped < settings.weight_min)),
            "at_max": int(np.sum(weights.unclipped > settings.weight_max)),
        }
    if settings.needs_scores:
        summary["distrust_loss"] = weight_distribution(weights.distrust, auth_weights)
    return summary
