"""PNG charts: real images of the expected size, and a clear error when there is nothing to draw."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.gateway import charts
from shared.errors import FailedPrecondition


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _metrics(step: int, val: float | None = None) -> dict[str, object]:
    return {"type": "metrics", "data": {"step": step, "train_loss": 3.0 / step, "ce": 3.2 / step, "val_loss": val}}


def test_loss_chart() -> None:
    events = [_metrics(s, 2.0 if s % 2 == 0 else None) for s in range(1, 9)]
    events.insert(2, {"type": "status", "data": {}})
    assert _size(charts.loss_chart(events, title="ftjob-x")) == (800, 480)


def test_loss_chart_without_metrics_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as error:
        charts.loss_chart([{"type": "status", "data": {}}])
    assert error.value.code == "no_metrics"


def test_perplexity_chart_of_two_models_and_a_missing_band() -> None:
    results = {
        "base": {"bands": {"low": {"perplexity": 3400.0}, "high": {"perplexity": 3200.0}}, "distrust_ratio": 0.94},
        "ft:tuned": {
            "bands": {"low": {"perplexity": 40.0}, "mid": {}, "high": {"perplexity": 300.0}},
            "distrust_ratio": 7.5,
        },
    }
    assert _size(charts.perplexity_chart(results)) == (800, 480)


def test_accuracy_chart_with_intervals() -> None:
    results = {
        "base": {"accuracy": 0.25, "interval": [0.1, 0.5], "n": 12},
        "ft:tuned": {"accuracy": 0.75, "interval": [0.5, 0.9], "n": 12},
    }
    assert _size(charts.accuracy_chart(results)) == (800, 480)
    with pytest.raises(FailedPrecondition):
        charts.accuracy_chart({})


def test_charts_are_deterministic_and_safe_to_render_from_several_threads() -> None:
    events = [_metrics(s, 1.5 if s % 4 == 0 else None) for s in range(1, 41)]
    results = {
        "base": {"bands": {"low": {"perplexity": 3400.0}, "high": {"perplexity": 3200.0}}, "distrust_ratio": 0.94},
        "ft:weighted": {"bands": {"low": {"perplexity": 100.0}, "high": {"perplexity": 950.0}}, "distrust_ratio": 9.5},
    }
    jobs = [
        lambda: charts.loss_chart(events, title="ftjob-a"),
        lambda: charts.perplexity_chart(results),
        lambda: charts.accuracy_chart({"m": {"accuracy": 0.7, "interval": [0.6, 0.8], "n": 80}}),
    ]
    serial = [job() for job in jobs]
    assert serial == [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(lambda i: jobs[i % 3](), range(12)))
    assert parallel == serial * 4
    assert all(b"matplotlib" not in png for png in serial)  # no version metadata


def test_loss_chart_edge_cases() -> None:
    one = [{"type": "metrics", "data": {"step": 1, "train_loss": 2.0, "ce": 2.0, "val_loss": None}}]
    assert _size(charts.loss_chart(one)) == (800, 480)
    untyped = [{"data": {"step": s, "train_loss": 1.0, "ce": 1.0}} for s in (3, 1, 2, 2)]  # unsorted, repeated
    assert _size(charts.loss_chart(untyped, title="ftjob-y")) == (800, 480)
    nan = [{"type": "metrics", "data": {"step": 1, "train_loss": float("nan"), "ce": None}}]
    assert _size(charts.loss_chart(nan)) == (800, 480)
    with pytest.raises(FailedPrecondition) as error:
        charts.loss_chart([])
    assert error.value.code == "no_metrics"


def test_perplexity_chart_tolerates_missing_and_non_finite_values() -> None:
    results = {
        "a": {
            "bands": {"low": {"perplexity": float("inf")}, "mid": {"perplexity": 12.0}, "high": {"perplexity": 3.0}},
            "distrust_ratio": None,
        },
        "b": {"bands": {"low": {"perplexity": 8.0}, "high": {"perplexity": None}}},
        "c": {},
    }
    assert _size(charts.perplexity_chart(results)) == (800, 480)
    assert _size(charts.perplexity_chart({"only": {"bands": {}}})) == (800, 480)
    with pytest.raises(FailedPrecondition) as error:
        charts.perplexity_chart({})
    assert error.value.code == "no_results"


def test_accuracy_chart_tolerates_odd_intervals() -> None:
    results = {
        "outside": {"accuracy": 0.5, "interval": [0.6, 0.9], "n": 3},  # value outside its interval
        "half": {"accuracy": 0.9, "interval": [0.8, None], "n": 10},
        "none": {"accuracy": 0.4, "interval": [None, None], "n": 10},
        "missing": {"accuracy": None, "n": 0},
        "no-n": {"accuracy": 1.0},
    }
    assert _size(charts.accuracy_chart(results, title="Source preference")) == (800, 480)
