"""Settings validation: every bad value is an error naming the field (as the job API does), the value and the range."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.trainer.core.config import TrainSettings
from shared.errors import InvalidArgument
from shared.schemas.fine_tuning import DistrustSpec, Hyperparameters, LoraSpec, ResolvedHyperparameters

SPECS: dict[str, type[Hyperparameters | ResolvedHyperparameters | DistrustSpec | LoraSpec]] = {
    "hyperparameters": Hyperparameters,
    "distrust": DistrustSpec,
    "lora": LoraSpec,
    "resolved": ResolvedHyperparameters,
}


def settings(**changes: Any) -> TrainSettings:
    return TrainSettings(model_path=Path("m"), train_path=Path("t.jsonl"), **changes)


def test_defaults_are_valid() -> None:
    s = settings()
    s.validate()
    assert s.distrust == DistrustSpec() and s.distrust.mode == "weighted" and s.distrust.alpha == 2.7
    assert s.distrust.lambda_ == 0.6 and (s.distrust.weight_min, s.distrust.weight_max) == (0.05, 20.0)
    assert LoraSpec(rank=8, alpha=16.0).scale == 2.0
    assert s.hyperparameters == Hyperparameters().resolved()


def test_auto_resolves_once_to_what_openai_reports() -> None:
    hp = Hyperparameters(batch_size=2, learning_rate_multiplier=2.0).resolved()
    assert (hp.n_epochs, hp.batch_size, hp.learning_rate) == (3, 2, pytest.approx(4e-4))
    assert Hyperparameters(n_epochs="auto", learning_rate=1e-3).resolved().learning_rate == 1e-3
    assert Hyperparameters.model_validate({"n_epochs": None}).n_epochs == "auto"
    assert isinstance(hp, ResolvedHyperparameters) and hp.resolved() is hp
    assert (
        ResolvedHyperparameters() == Hyperparameters().resolved()
        and ResolvedHyperparameters(n_epochs=2).batch_size == 4
    )


def test_lambda_has_one_python_spelling_and_the_api_alias() -> None:
    spec = DistrustSpec.model_validate({"lambda": 0.3})
    assert spec.lambda_ == 0.3 and DistrustSpec(lambda_=0.3) == spec
    assert spec.model_dump()["lambda"] == 0.3


@pytest.mark.parametrize(
    ("spec", "changes", "field", "value_text", "range_text"),
    [
        ("hyperparameters", {"batch_size": 0}, "hyperparameters.batch_size", "got 0", "an integer in [1, 1024]"),
        ("hyperparameters", {"n_epochs": 0}, "hyperparameters.n_epochs", "got 0", "[1, 1000]"),
        (
            "hyperparameters",
            {"gradient_accumulation_steps": 0},
            "hyperparameters.gradient_accumulation_steps",
            "got 0",
            "[1, 1024]",
        ),
        ("hyperparameters", {"learning_rate": 0.0}, "hyperparameters.learning_rate", "got 0.0", "(0, 1]"),
        ("hyperparameters", {"learning_rate": float("inf")}, "hyperparameters.learning_rate", "got inf", "(0, 1]"),
        ("hyperparameters", {"warmup_steps": -1}, "hyperparameters.warmup_steps", "got -1", "[0, "),
        ("hyperparameters", {"max_grad_norm": -1.0}, "hyperparameters.max_grad_norm", "got -1.0", "[0, "),
        ("hyperparameters", {"weight_decay": 2.0}, "hyperparameters.weight_decay", "got 2.0", "[0, 1]"),
        ("hyperparameters", {"max_seq_length": 1}, "hyperparameters.max_seq_length", "got 1", "[2, "),
        ("hyperparameters", {"max_steps": 0}, "hyperparameters.max_steps", "got 0", "[1, "),
        ("hyperparameters", {"eval_every_steps": -5}, "hyperparameters.eval_every_steps", "got -5", "[0, "),
        ("hyperparameters", {"checkpoint_every_steps": 0}, "hyperparameters.checkpoint_every_steps", "got 0", "[1, "),
        ("distrust", {"alpha": 3.5}, "distrust.alpha", "got 3.5", "[2.3, 3]"),
        ("distrust", {"alpha": 2.0}, "distrust.alpha", "got 2.0", "[2.3, 3]"),
        ("distrust", {"lambda": -0.1}, "distrust.lambda", "got -0.1", "[0, "),
        ("distrust", {"weight_min": 0.0}, "distrust.weight_min", "got 0.0", "(0, 1]"),
        ("distrust", {"weight_min": 1.5}, "distrust.weight_min", "got 1.5", "(0, 1]"),
        ("distrust", {"weight_max": 0.5}, "distrust.weight_max", "got 0.5", "[1, "),
        ("lora", {"rank": 0}, "lora.rank", "got 0", "[1, 4096]"),
        ("lora", {"alpha": 0.0}, "lora.alpha", "got 0.0", "(0, "),
        ("lora", {"layers": 0}, "lora.layers", "got 0", "[1, 4096]"),
        ("lora", {"keys": []}, "lora.keys", "got []", "module paths"),
        ("lora", {"keys": [" q"]}, "lora.keys", "got [' q']", "module paths"),
        ("lora", {"dropout": 1.0}, "lora.dropout", "got 1.0", "[0, 0.95]"),
        ("hyperparameters", {"learning_rate": float("nan")}, "hyperparameters.learning_rate", "got nan", "(0, 1]"),
        (
            "hyperparameters",
            {"checkpoint_every_steps": 0},
            "hyperparameters.checkpoint_every_steps",
            "got 0",
            "1000000]",
        ),
        ("distrust", {"lambda_": -1.0}, "distrust.lambda", "got -1.0", "[0, 1e+06]"),
        ("resolved", {"batch_size": 0}, "hyperparameters.batch_size", "got 0", "an integer in [1, 1024]"),
    ],
)
def test_bad_values_name_field_value_and_range(
    spec: str, changes: dict[str, Any], field: str, value_text: str, range_text: str
) -> None:
    with pytest.raises(InvalidArgument) as err:
        SPECS[spec].model_validate(changes)
    assert err.value.param == field
    assert err.value.message.startswith(f"{field}: {value_text}, expected ")
    assert range_text in err.value.message


def test_auto_is_a_request_value_only() -> None:
    assert Hyperparameters(learning_rate="auto").learning_rate == "auto"
    assert Hyperparameters.model_validate(ResolvedHyperparameters(n_epochs=2)).n_epochs == 2  # OpenAI echoes it
    schema = ResolvedHyperparameters.model_json_schema()["properties"]
    assert "default" not in schema["n_epochs"] and schema["n_epochs"]["type"] == "integer"
    with pytest.raises(ValidationError):
        ResolvedHyperparameters.model_validate({"n_epochs": "three"})


def test_only_what_changes_the_computation_is_a_continuation_setting() -> None:
    hp = Hyperparameters().resolved()
    reporting_and_memory = {"eval_every_steps", "checkpoint_every_steps", "gradient_checkpointing"}
    assert set(hp.model_dump()) - set(hp.computed()) == reporting_and_memory
    again = settings(hyperparameters=hp.model_copy(update={"checkpoint_every_steps": 99}))
    assert again.continuation_fingerprint() == settings(hyperparameters=hp).continuation_fingerprint()


def test_a_derived_learning_rate_is_checked_too() -> None:
    with pytest.raises(InvalidArgument, match=r"hyperparameters.learning_rate: got 2.0"):
        Hyperparameters(learning_rate_multiplier=10_000.0).resolved()


@pytest.mark.parametrize(
    ("spec", "changes", "location"),
    [
        ("hyperparameters", {"batch_size": True}, "batch_size"),
        ("hyperparameters", {"batch_sizes": 2}, "batch_sizes"),
        ("distrust", {"mode": "weird"}, "mode"),
        ("distrust", {"weighting": "log"}, "weighting"),
        ("lora", {"rank": "eight"}, "rank"),
    ],
)
def test_wrong_types_and_unknown_fields_are_refused(spec: str, changes: dict[str, Any], location: str) -> None:
    with pytest.raises(ValidationError) as err:
        SPECS[spec].model_validate(changes)
    assert err.value.errors()[0]["loc"][0] == location


def test_run_values_are_checked_by_the_settings() -> None:
    with pytest.raises(InvalidArgument, match=r"^seed: got -1, expected an integer in \[0, 4294967295\]"):
        settings(seed=-1).validate()


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().seed = 3  # type: ignore[misc]
