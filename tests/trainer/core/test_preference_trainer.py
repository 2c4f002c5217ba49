"""Preference runs on a tiny model: reports, validation reward accuracy, exact resume, and refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlx.core as mx
import pytest

from services.trainer.core.config import TrainSettings
from services.trainer.core.lora import adapter_weights
from services.trainer.core.preference_trainer import PreferenceTrainer
from shared.errors import InvalidArgument
from shared.schemas.fine_tuning import PreferenceSpec
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
    assert reports[-1].train_loss < reports[0].train_loss and reports[-1].reward_margin > 0
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
    assert [r.train_loss for r in a_reports] == pytest.approx([r.train_loss for r in b_reports], rel=1e-4)
    a, b = adapter_weights(whole.model), adapter_weights(split.model)
    for name in a:
        assert mx.allclose(a[name], b[name], atol=1e-5).item(), name


def test_refusals_name_the_field(settings_for: Settings) -> None:
    with pytest.raises(InvalidArgument, match="not a preference pair") as caught:
        PreferenceTrainer(settings_for([{"text": "plain"}]), PreferenceSpec())
    assert caught.value.param == "training_file"


def test_reports_carry_log_probabilities_and_validation_loss(settings_for: Settings) -> None:
    trainer = PreferenceTrainer(settings_for(_pairs(4), _pairs(2), max_steps=2, batch_size=2), PreferenceSpec())
    last = list(trainer.run())[-1]
    assert last.chosen_logp < 0 and last.rejected_logp < 0 and last.grad_norm > 0
    assert last.val_loss is not None and last.val_loss > 0 and last.val_reward_accuracy is not None
    assert "reward accuracy" in last.describe() and trainer.spec.beta == 0.1  # "auto"


def test_weight_by_margin_normalises_margins_and_needs_one_on_every_pair(settings_for: Settings) -> None:
    rows = [{**pair, "metadata": {"margin": margin}} for pair, margin in zip(_pairs(3), (1.0, 2.0, 3.0), strict=False)]
    trainer = PreferenceTrainer(settings_for(rows[:3]), PreferenceSpec(weight_by_margin=True))
    assert trainer.weights.tolist() == pytest.approx([0.5, 1.0, 1.5])
    assert PreferenceTrainer(settings_for(rows[:3]), PreferenceSpec()).weights.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(InvalidArgument, match="line 4 without a provenance margin"):
        PreferenceTrainer(settings_for([*rows[:3], _pairs(1)[0]]), PreferenceSpec(weight_by_margin=True))


def test_a_run_continues_a_trained_adapter_and_refuses_one_that_does_not_fit(
    settings_for: Settings, tmp_path: Path
) -> None:
    import dataclasses

    from services.trainer.core.trainer import Trainer
    from shared.adapter_format import read_adapter_config
    from shared.errors import FailedPrecondition
    from shared.schemas.fine_tuning import DistrustSpec, LoraSpec

    sft = Trainer(
        settings_for([{"text": f"line {i} of the diary"} for i in range(4)], distrust=DistrustSpec(mode="none"))
    )
    for _ in sft.run():
        pass
    sft.save_adapter(tmp_path / "sft")
    lora = read_adapter_config(tmp_path / "sft").lora_spec()
    assert lora == LoraSpec(rank=4, alpha=8.0, layers=sft.lora_layers)
    settings = dataclasses.replace(settings_for(_pairs(4), lora=lora), adapter_path=tmp_path / "sft")
    continued = PreferenceTrainer(settings, PreferenceSpec())
    a, b = adapter_weights(sft.model), adapter_weights(continued.model)
    assert a.keys() == b.keys() and all(mx.array_equal(a[k], b[k]).item() for k in a)
    first = next(iter(continued.run()))
    assert first.reward_margin == 0.0  # the reference is the continued adapter itself
    other = dataclasses.replace(settings_for(_pairs(4), lora=LoraSpec(rank=8)), adapter_path=tmp_path / "sft")
    with pytest.raises(FailedPrecondition, match="does not fit the job's LoRA layers"):
        PreferenceTrainer(other, PreferenceSpec())
