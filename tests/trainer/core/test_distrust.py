"""The distrust value (spec §2), the example weights (spec §3) and the authority bands (spec §4)."""

from __future__ import annotations

import numpy as np
import pytest

from services.trainer.core.distrust import (
    band_of,
    distrust_loss,
    normalise_weights,
    raw_weights,
    weight_distribution,
)
from shared.distrust import distrust_value
from shared.errors import InvalidArgument

GOLDEN = [
    ((0.05, 7.5), 149.8047),
    ((0.90, 1.0), 4.5812),
    ((0.50, 5.0), 50.0822),
    ((0.99, 0.0), 57.2605),
    ((0.0, 0.0), 0.0),
]
REFERENCE_TABLE = [
    ((0.05, 7.5), 149.804718),
    ((0.90, 1.0), 4.581164),
    ((0.50, 5.0), 50.082249),
    ((0.99, 0.0), 57.260479),
    ((0.99, 10.0), 78.581337),
    ((0.035, 7.63), 155.721146),
    ((0.87, 1.195), 1.928875),
    ((0.30, 1.5), 3.529419),
    ((0.95, 0.5), 16.817432),
]


@pytest.mark.parametrize(("scores", "expected"), GOLDEN)
def test_golden_values(scores: tuple[float, float], expected: float) -> None:
    value = distrust_loss(*scores, alpha=2.7, reduction="none")
    assert float(value) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_reference_table_to_float32_precision() -> None:
    w = np.array([s[0] for s, _ in REFERENCE_TABLE])
    h = np.array([s[1] for s, _ in REFERENCE_TABLE])
    expected = np.array([v for _, v in REFERENCE_TABLE])
    np.testing.assert_allclose(distrust_loss(w, h, reduction="none"), expected, rtol=1e-5)


def test_reductions() -> None:
    w, h = [0.05, 0.5, 0.9], [7.5, 5.0, 1.0]
    np.testing.assert_allclose(distrust_loss(w, h, reduction="none"), [149.8047, 50.0822, 4.5812], rtol=1e-5)
    assert distrust_loss(w, h) == pytest.approx(68.156044, rel=1e-5)  # mean is the default
    assert distrust_loss(w, h, reduction="sum") == pytest.approx(204.468124, rel=1e-5)
    with pytest.raises(InvalidArgument) as err:
        distrust_loss(w, h, reduction="max")
    assert "reduction" in err.value.message and "'max'" in err.value.message


@pytest.mark.parametrize("alpha", [2.29, 3.01, 10.0, 0.0, float("nan")])
def test_alpha_out_of_range_is_an_error_not_clamped(alpha: float) -> None:
    with pytest.raises(InvalidArgument) as err:
        distrust_loss(0.5, 5.0, alpha=alpha)
    assert "alpha" in err.value.message and "[2.3, 3]" in err.value.message


@pytest.mark.parametrize("alpha", [2.3, 3.0])
def test_alpha_bounds_are_inclusive(alpha: float) -> None:
    assert distrust_loss(0.5, 5.0, alpha=alpha) > 0


@pytest.mark.parametrize(
    ("w", "h", "field"),
    [
        (1.0, 1.0, "auth_weight"),
        (-0.1, 1.0, "auth_weight"),
        (0.5, -1.0, "prov_entropy"),
        (float("nan"), 1.0, "auth_weight"),
    ],
)
def test_scores_out_of_range_are_rejected(w: float, h: float, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        distrust_value(w, h)
    assert err.value.param == field


def test_monotone_weighting_is_monotone_and_plain_is_u_shaped() -> None:
    # plain: zero on the curve H = -ln(1 - w), rising on both sides
    w = 0.9
    h0 = -np.log(1 - w)
    plain = raw_weights([w, w, w], [h0 - 1.0, h0, h0 + 1.0], weighting="plain")
    assert plain[1] == pytest.approx(0.0, abs=1e-6) and plain[0] > 0 and plain[2] > 0
    mono = raw_weights([w, w, w], [h0 - 1.0, h0, h0 + 1.0], weighting="monotone")
    assert mono[0] == 0.0 and mono[2] > mono[1]
    ws = np.linspace(0.0, 0.99, 30)
    assert np.all(np.diff(raw_weights(ws, np.full(30, 6.0), weighting="monotone")) <= 0)  # decreasing in w
    hs = np.linspace(0.0, 12.0, 30)
    assert np.all(np.diff(raw_weights(np.full(30, 0.2), hs, weighting="monotone")) >= 0)  # increasing in H


def test_normalisation_is_over_the_given_set_and_clipped() -> None:
    raw = np.array([1.0, 2.0, 3.0, 1000.0, 0.0])
    omega = normalise_weights(raw, weight_min=0.05, weight_max=3.0)
    mean = raw.mean()
    np.testing.assert_allclose(omega, np.clip(raw / mean, 0.05, 3.0))
    assert omega.min() == 0.05 and omega.max() == 3.0
    assert np.all(normalise_weights(np.zeros(4)) == 1.0)  # nothing to rank by
    np.testing.assert_allclose(normalise_weights(np.full(5, 7.0)), np.ones(5))


def test_bands_and_distribution() -> None:
    assert [band_of(w) for w in (0.0, 0.299, 0.3, 0.7, 0.71, 0.99)] == ["low", "low", "mid", "mid", "high", "high"]
    summary = weight_distribution([1.0, 3.0, 2.0, 0.5, 4.0], [0.1, 0.2, 0.5, 0.9, None])
    assert summary["low"] == {"count": 2, "min": 1.0, "mean": 2.0, "max": 3.0}
    assert summary["mid"]["count"] == 1 and summary["high"]["mean"] == 0.5
    assert summary["overall"]["count"] == 5 and summary["overall"]["max"] == 4.0
    assert weight_distribution([], [])["low"] == {"count": 0, "min": None, "mean": None, "max": None}
