"""Fixtures for the training core: a tiny random Llama on disk (see builders.py), records, settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.trainer.core.config import TrainSettings
from shared.schemas.fine_tuning import DistrustSpec, LoraSpec, ResolvedHyperparameters
from tests.trainer.core.builders import build_model_dir, text_records, write_jsonl


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def records() -> Callable[..., list[dict[str, Any]]]:
    return text_records


@pytest.fixture
def settings_for(tiny_model: Path, tmp_path: Path) -> Callable[..., TrainSettings]:
    """settings_for(train_records, val_records=None, distrust=..., lora=..., seed=, **hyperparameters)"""
    counter = iter(range(10_000))

    def make(
        train: list[dict[str, Any]],
        val: list[dict[str, Any]] | None = None,
        *,
        distrust: DistrustSpec | None = None,
        lora: LoraSpec | None = None,
        **overrides: Any,
    ) -> TrainSettings:
        k = next(counter)
        train_path = write_jsonl(tmp_path / f"train-{k}.jsonl", train)
        val_path = write_jsonl(tmp_path / f"val-{k}.jsonl", val) if val is not None else None
        seed = overrides.pop("seed", 0)
        hp = {"n_epochs": 1, "batch_size": 2, "learning_rate": 1e-2, "max_seq_length": 64, **overrides}
        return TrainSettings(
            model_path=tiny_model,
            train_path=train_path,
            val_path=val_path,
            distrust=distrust or DistrustSpec(),
            lora=lora or LoraSpec(rank=4, alpha=8.0),
            seed=seed,
            hyperparameters=ResolvedHyperparameters(**hp),
        )

    return make
