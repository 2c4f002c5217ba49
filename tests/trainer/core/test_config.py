"""Settings validation: every bad value is an InvalidArgument naming the field, the value and the range."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from services.trainer.core.config import DistrustSettings, LoraSettings, TrainSettings
from shared.errors import InvalidArgument


def settings(**changes: Any) -> TrainSettings:
    return TrainSettings(model_path=Path("m"), train_path=Path("t.jsonl"), **changes)


def test_defaults_are_valid() -> None:
    s = settings()
    s.validate()
    assert s.distrust == DistrustSettings() and s.distrust.mode == "weighted" and s.distrust.alpha == 2.7
    assert s.distrust.lam == 0.6 and (s.distrust.weight_min, s.distrust.weight_max) == (0.05, 20.0)
    assert LoraSettings(rank=8, alpha=16.0).scale == 2.0
    assert TrainSettings(model_path="m", train_path="t").model_path == Path("m")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field", "value_text", "range_text"),
    [
        ({"batch_size": 0}, "hyperparameters.batch_size", "got 0", "an integer in [1, 1024]"),
        ({"batch_size": True}, "hyperparameters.batch_size", "got True", "[1, 1024]"),
        ({"n_epochs": 0}, "hyperparameters.n_epochs", "got 0", "[1, 1000]"),
        ({"grad_accum_steps": 0}, "hyperparameters.gradient_accumulation_steps", "got 0", "[1, 1024]"),
        ({"learning_rate": 0.0}, "hyperparameters.learning_rate", "got 0.0", "(0, 1]"),
        ({"learning_rate": float("inf")}, "hyperparameters.learning_rate", "got inf", "(0, 1]"),
        ({"warmup_steps": -1}, "hyperparameters.warmup_steps", "got -1", "[0, "),
        ({"max_grad_norm": -1.0}, "hyperparameters.max_grad_norm", "got -1.0", "[0, "),
        ({"weight_decay": 2.0}, "hyperparameters.weight_decay", "got 2.0", "[0, 1]"),
        ({"max_seq_length": 1}, "hyperparameters.max_seq_length", "got 1", "[2, "),
        ({"max_steps": 0}, "hyperparameters.max_steps", "got 0", "[1, "),
        ({"eval_every_steps": -5}, "hyperparameters.eval_every_steps", "got -5", "[0, "),
        ({"seed": -1}, "seed", "got -1", "[0, 4294967295]"),
        (
            {"distrust": DistrustSettings(mode="weird")},
            "distrust.mode",
            "got 'weird'",
            "'weighted', 'additive', 'none'",
        ),
        ({"distrust": DistrustSettings(alpha=3.5)}, "distrust.alpha", "got 3.5", "[2.3, 3]"),
        ({"distrust": DistrustSettings(alpha=2.0)}, "distrust.alpha", "got 2.0", "[2.3, 3]"),
        ({"distrust": DistrustSettings(lam=-0.1)}, "distrust.lambda", "got -0.1", "[0, "),
        ({"distrust": DistrustSettings(weighting="log")}, "distrust.weighting", "got 'log'", "'plain', 'monotone'"),
        ({"distrust": DistrustSettings(weight_min=0.0)}, "distrust.weight_min", "got 0.0", "(0, 1]"),
        ({"distrust": DistrustSettings(weight_min=1.5)}, "distrust.weight_min", "got 1.5", "(0, 1]"),
        ({"distrust": DistrustSettings(weight_max=0.5)}, "distrust.weight_max", "got 0.5", "[1, "),
        ({"lora": LoraSettings(rank=0)}, "lora.rank", "got 0", "[1, 4096]"),
        ({"lora": LoraSettings(alpha=0.0)}, "lora.alpha", "got 0.0", "(0, "),
        ({"lora": LoraSettings(layers=0)}, "lora.layers", "got 0", "[1, 4096]"),
        ({"lora": LoraSettings(keys=())}, "lora.keys", "got ()", "module paths"),
        ({"lora": LoraSettings(dropout=1.0)}, "lora.dropout", "got 1.0", "[0, 0.95]"),
    ],
)
def test_bad_values_name_field_value_and_range(
    changes: dict[str, Any], field: str, value_text: str, range_text: str
) -> None:
    with pytest.raises(InvalidArgument) as err:
        settings(**changes).validate()
    assert err.value.param == field
    assert err.value.message.startswith(f"{field}: {value_text}, expected ")
    assert range_text in err.value.message


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().batch_size = 3  # type: ignore[misc]
