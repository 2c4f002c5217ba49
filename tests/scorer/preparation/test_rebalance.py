"""Rebalancing arithmetic: all low kept, mid / high sampled down to the targets, shortfalls reported."""

from __future__ import annotations

import random

import pytest

from services.scorer.preparation import PrepareOptions, RawInput, band_of, plan_rebalance, prepare_dataset
from services.scorer.preparation.rebalance import rebalance
from shared.errors import FailedPrecondition

DEFAULT = (0.25, 0.40, 0.35)


def _items(low: int, mid: int, high: int) -> list[tuple[str, int]]:
    return [(band, i) for band, n in (("low", low), ("mid", mid), ("high", high)) for i in range(n)]


def test_reference_case_300_600_1000_gives_300_480_420() -> None:
    plan = plan_rebalance({"low": 300, "mid": 600, "high": 1000}, DEFAULT)
    assert plan.target_total == 1200
    assert plan.targets == {"low": 300, "mid": 480, "high": 420}
    assert plan.kept == {"low": 300, "mid": 480, "high": 420}
    assert plan.dropped == {"low": 0, "mid": 120, "high": 580}
    assert plan.short == {}


def test_rebalance_keeps_every_low_item_and_samples_the_others() -> None:
    items = _items(300, 600, 1000)
    kept, plan = rebalance(items, lambda item: item[0], DEFAULT, random.Random(42))
    by_band = {b: [i for i in kept if i[0] == b] for b in ("low", "mid", "high")}
    assert len(by_band["low"]) == 300 and len(by_band["mid"]) == 480 and len(by_band["high"]) == 420
    assert by_band["low"] == [i for i in items if i[0] == "low"]
    assert len(set(by_band["high"])) == 420  # without replacement
    # survivors keep their input order
    assert by_band["mid"] == sorted(by_band["mid"])
    assert plan.kept == {"low": 300, "mid": 480, "high": 420}


def test_rebalance_sampling_is_seeded() -> None:
    items = _items(30, 60, 100)
    first, _ = rebalance(items, lambda item: item[0], DEFAULT, random.Random(7))
    again, _ = rebalance(items, lambda item: item[0], DEFAULT, random.Random(7))
    other, _ = rebalance(items, lambda item: item[0], DEFAULT, random.Random(8))
    assert first == again
    assert first != other
    assert len(first) == len(other) == 120


def test_zero_low_authority_is_a_failed_precondition_not_a_division_by_zero() -> None:
    with pytest.raises(FailedPrecondition) as info:
        plan_rebalance({"low": 0, "mid": 600, "high": 1000}, DEFAULT)
    assert info.value.param == "rebalance"
    assert "low-authority" in info.value.message and "1600" in info.value.message


def test_zero_low_in_the_pipeline_fails_and_passes_without_rebalancing(fake_score, lines_of) -> None:
    lines = lines_of(mid=5, high=5)
    with pytest.raises(FailedPrecondition):
        prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(), score=fake_score)
    result = prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(rebalance=False), score=fake_score)
    assert len(result.train) + len(result.val) == 10
    assert result.report["rebalance"] == {"applied": False}
    assert any("low-authority share is 0.0%" in w for w in result.report["warnings"])


def test_short_mid_band_keeps_all_and_reports_the_shortfall() -> None:
    plan = plan_rebalance({"low": 300, "mid": 100, "high": 1000}, DEFAULT)
    assert plan.kept == {"low": 300, "mid": 100, "high": 420}
    assert plan.short == {"mid": 380}


def test_short_high_band_keeps_all_and_does_not_enlarge_mid() -> None:
    plan = plan_rebalance({"low": 300, "mid": 600, "high": 50}, DEFAULT)
    assert plan.kept == {"low": 300, "mid": 480, "high": 50}
    assert plan.short == {"high": 370}


def test_low_heavy_dataset_is_kept_whole() -> None:
    plan = plan_rebalance({"low": 500, "mid": 100, "high": 100}, DEFAULT)
    assert plan.kept == {"low": 500, "mid": 100, "high": 100}
    assert plan.targets == {"low": 500, "mid": 800, "high": 700}
    assert plan.short == {"mid": 700, "high": 600}


def test_custom_targets() -> None:
    plan = plan_rebalance({"low": 100, "mid": 1000, "high": 1000}, (0.5, 0.25, 0.25))
    assert plan.target_total == 200
    assert plan.kept == {"low": 100, "mid": 50, "high": 50}


def test_float_noise_does_not_lose_a_record() -> None:
    # 3 / 0.1 is 29.999999999999996 in floating point; the total must still be 30
    plan = plan_rebalance({"low": 3, "mid": 100, "high": 100}, (0.1, 0.6, 0.3))
    assert plan.target_total == 30
    assert plan.kept == {"low": 3, "mid": 18, "high": 9}


def test_pipeline_reports_short_band_in_warnings(fake_score, lines_of) -> None:
    lines = lines_of(low=30, mid=10, high=100)
    result = prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(), score=fake_score)
    report = result.report
    assert report["bands"]["before"] == {"low": 30, "mid": 10, "high": 100}
    assert report["bands"]["after"] == {"low": 30, "mid": 10, "high": 42}
    assert report["rebalance"]["short"] == {"mid": 38}
    assert any(w.startswith("mid band has 10 records, 38 fewer than its target 48") for w in report["warnings"])


@pytest.mark.parametrize(
    ("weight", "band"),
    [
        (0.0, "low"),
        (0.2999, "low"),
        (0.3, "mid"),
        (0.5, "mid"),
        (0.7, "mid"),
        (0.7001, "high"),
        (0.99, "high"),
    ],
)
def test_band_boundaries(weight: float, band: str) -> None:
    assert band_of(weight) == band
