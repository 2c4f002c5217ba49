"""PNG charts: real images of the expected size, and a clear error when there is nothing to draw."""

from __future__ import annotations

import struct

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
    results = {"base": {"bands": {"low": {"perplexity": 3400.0}, "high": {"perplexity": 3200.0}},
                        "distrust_ratio": 0.94},
               "ft:tuned": {"bands": {"low": {"perplexity": 40.0}, "mid": {}, "high": {"perplexity": 300.0}},
                            "distrust_ratio": 7.5}}
    assert _size(charts.perplexity_chart(results)) == (800, 480)


def test_accuracy_chart_with_intervals() -> None:
    results = {"base": {"accuracy": 0.25, "interval": [0.1, 0.5], "n": 12},
               "ft:tuned": {"accuracy": 0.75, "interval": [0.5, 0.9], "n": 12}}
    assert _size(charts.accuracy_chart(results)) == (800, 480)
    with pytest.raises(FailedPrecondition):
        charts.accuracy_chart({})
