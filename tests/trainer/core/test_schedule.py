"""Learning-rate schedule (linear warmup, cosine decay), gradient clipping by global norm, AdamW wiring."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import mlx.core as mx
import numpy as np
import pytest

from services.trainer.core.config import TrainSettings
from services.trainer.core.schedule import clip_gradients, global_norm, learning_rate_at, make_schedule
from services.trainer.core.trainer import Trainer


def test_warmup_then_cosine_values() -> None:
    def lr(s: int) -> float:
        return learning_rate_at(s, peak=1e-3, warmup=4, total=12)

    assert [lr(s) for s in range(4)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert lr(4) == pytest.approx(1e-3)  # the cosine starts at the peak
    assert lr(6) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert lr(8) == pytest.approx(5e-4)  # half way through the decay
    assert lr(11) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 7 / 8)))  # last update: small, not 0
    assert lr(12) == pytest.approx(0.0, abs=1e-12) and lr(100) == pytest.approx(0.0, abs=1e-12)
    values = [lr(s) for s in range(4, 12)]
    assert all(a > b for a, b in itertools.pairwise(values))
    # no warmup: pure cosine from the peak
    assert learning_rate_at(0, peak=2e-4, warmup=0, total=10) == pytest.approx(2e-4)
    assert learning_rate_at(5, peak=2e-4, warmup=0, total=10) == pytest.approx(1e-4)


@pytest.mark.parametrize(("warmup", "total"), [(0, 10), (3, 10), (10, 10), (12, 5), (1, 1)])
def test_mlx_schedule_matches_the_python_one(warmup: int, total: int) -> None:
    schedule = make_schedule(peak=3e-4, warmup=warmup, total=total)
    for s in range(total + 2):
        got = schedule(mx.array(s, dtype=mx.uint64)).item()
        assert got == pytest.approx(learning_rate_at(s, peak=3e-4, warmup=warmup, total=total), rel=1e-5, abs=1e-12)


def test_clipping_bounds_the_global_norm() -> None:
    grads = {"a": mx.array([3.0, 4.0]), "b": {"c": mx.array([[12.0]])}}  # global norm 13
    assert global_norm(grads).item() == pytest.approx(13.0)
    clipped, norm = clip_gradients(grads, 1.0)
    assert norm.item() == pytest.approx(13.0)  # the norm before clipping is reported
    assert global_norm(clipped).item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(np.array(clipped["a"]), np.array([3.0, 4.0]) / 13.0, rtol=1e-5)  # direction kept
    same, _ = clip_gradients(grads, 100.0)
    np.testing.assert_array_equal(np.array(same["b"]["c"]), np.array([[12.0]]))  # under the bound: untouched
    off, norm = clip_gradients(grads, 0.0)  # 0 = no clipping
    assert off is grads and norm.item() == pytest.approx(13.0)


def test_the_trainer_uses_the_schedule_and_clips(
    settings_for: Callable[..., TrainSettings], records: Callable[..., Any]
) -> None:
    trainer = Trainer(
        settings_for(records(12, seed=2), batch_size=2, warmup_steps=2, learning_rate=1e-2, max_grad_norm=0.01)
    )
    reports = list(trainer.run())
    assert len(reports) == trainer.total_steps == 6
    expected = [learning_rate_at(s, peak=1e-2, warmup=2, total=6) for s in range(6)]
    assert [r.learning_rate for r in reports] == pytest.approx(expected)
    assert trainer.optimizer.learning_rate.item() == pytest.approx(expected[-1], rel=1e-5)  # what Adam used
    assert all(r.grad_norm > 0.01 for r in reports)  # the pre-clip norm is reported (clipping: test above)
