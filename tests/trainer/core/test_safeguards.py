"""Runtime safeguards on the tiny model: per-step memory and gradient norm, a diverging loss, a tiny budget."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.trainer.core.config import TrainSettings
from services.trainer.core.safeguards import LossNotFinite, MemoryBudgetReached
from services.trainer.core.trainer import StepReport, Trainer

Settings = Callable[..., TrainSettings]


def test_each_step_reports_memory_and_gradient_norm(settings_for: Settings, records: Callable[..., Any]) -> None:
    reports = list(Trainer(settings_for(records(6), max_steps=2)).run())
    for r in reports:
        assert 0 < r.active_memory_gb <= r.peak_memory_gb
        assert r.grad_norm > 0 and math.isfinite(r.grad_norm)


def test_a_huge_learning_rate_stops_with_a_clear_error(settings_for: Settings, records: Callable[..., Any]) -> None:
    # float16 (largest value 65504) with no clipping and a learning rate of 1: activations overflow to inf
    settings = settings_for(records(16), n_epochs=20, learning_rate=1.0, max_grad_norm=0.0, precision="float16")
    trainer = Trainer(settings)
    seen: list[StepReport] = []
    with pytest.raises(LossNotFinite) as err:
        seen.extend(trainer.run())
    assert all(math.isfinite(r.train_loss) for r in seen)
    assert trainer.step == len(seen)  # the diverged step is not counted
    message = err.value.message
    assert f"step {trainer.step + 1}" in message and "learning rate" in message
    assert err.value.code == "loss_not_finite"


def test_a_tiny_budget_stops_after_a_step_naming_what_to_lower(
    settings_for: Settings, records: Callable[..., Any], tmp_path: Path
) -> None:
    settings = dataclasses.replace(settings_for(records(6), max_steps=3), memory_budget_bytes=1000)
    trainer = Trainer(settings)
    with pytest.raises(MemoryBudgetReached) as err:
        list(trainer.run())
    assert trainer.step == 1  # the step completed; its state can be checkpointed
    trainer.save_checkpoint(tmp_path / "checkpoint")
    message = err.value.message
    for name in ("batch_size", "max_seq_length", "precision", "quantize_base", "gradient_checkpointing"):
        assert name in message
    assert "batch_size 2" in message and err.value.code == "memory_budget_reached"


def test_a_budget_far_above_the_run_changes_nothing(settings_for: Settings, records: Callable[..., Any]) -> None:
    settings = dataclasses.replace(settings_for(records(6), max_steps=2), memory_budget_bytes=10**12)
    assert len(list(Trainer(settings).run())) == 2
