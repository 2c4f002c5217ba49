"""Preference runs on a tiny model: reports, validation reward accuracy, exact resume, and refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlx.core as mx
import pytest

from services.trainer.core.config import TrainSettings
from services.trainer.core.lora import adapter_weights
from services.trainer.core.preference_trainer import PreferenceSpec, PreferenceTrainer
from shared.errors import InvalidArgument
from tests.trainer.core.test_pairs import PAIRS

Settings = Callable[..., TrainSettings]


def _pairs(n: int) -> list[dict[str, Any]]:
    return [
        {"prompt": f"Which source for event {i}?", "chosen": f"The field diary of day {i}.", "rejected": "A summary."}
        for i in range(n)
    ] + PAIRS


def test_a_run_reports_rewards_and_learns_the_preference(settings_for: Settings) -> None:
    settings = settings_for(_pairs(6), _pairs(2), n_epochs=4, batch_size=4, learning_rate=2e-2)
    trainer = PreferenceTrainer(settings, PreferenceSpec(loss="sigmoid", beta=0.5))
    reports = list(trainer.run())
    assert [r.step for r in reports] == list(range(1, trainer.total_steps + 1)) and trainer.total_steps == 8
    assert reports[-1].loss < reports[0].loss and reports[-1].reward_margin > 0
    assert all(r.tokens > 0 and 0.0 <= r.reward_accuracy <= 1.0 for r in reports)
    assert reports[-1].val_reward_accuracy is not None and reports[-1].val_reward_accuracy >= 0.5


def test_a_resumed_run_ends_with_the_same_adapter(settings_for: Settings, tmp_path: Path) -> None:
    settings = settings_for(_pairs(6), n_epochs=2, batch_size=2, learning_rate=1e-2)
    spec = PreferenceSpec(loss="ipo", beta=0.5)
    straight = PreferenceTrainer(settings, spec)
    for _ in straight.run():
        pass
    first = PreferenceTrainer(settings, spec)
    for report in first.run():
        if report.step == 3:
            first.save_checkpoint(tmp_path / "ckpt")
            break
    resumed = PreferenceTrainer(settings, spec)
    resumed.restore(tmp_path / "ckpt")
    assert resumed.step == 3
    for _ in resumed.run():
        pass
    a, b = adapter_weights(straight.model), adapter_weights(resumed.model)
    assert a.keys() == b.keys()
    for name in a:
        assert mx.allclose(a[name], b[name], atol=1e-6).item(), name


def test_accumulation_takes_the_same_step_as_one_larger_batch(settings_for: Settings) -> None:
    spec = PreferenceSpec(loss="sigmoid", beta=0.5)
    whole = PreferenceTrainer(settings_for(_pairs(6), batch_size=4, max_steps=2, seed=3), spec)
    split = PreferenceTrainer(
        settings_for(_pairs(6), batch_size=2, gradient_accumulation_steps=2, max_steps=2, seed=3), spec
    )
    a_reports, b_reports = list(whole.run()), list(split.run())
    assert [r.loss for r in a_reports] == pytest.approx([r.loss for r in b_reports], rel=1e-4)
    a, b = adapter_weights(whole.model), adapter_weights(split.model)
    for name in a:
        assert mx.allclose(a[name], b[name], atol=1e-5).item(), name


def test_refusals_name_the_field(settings_for: Settings) -> None:
    with pytest.raises(InvalidArgument, match="not a preference pair") as caught:
        PreferenceTrainer(settings_for([{"text": "plain"}]), PreferenceSpec())
    assert caught.value.param == "training_file"
