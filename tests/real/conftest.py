"""SmolLM2-135M-Instruct (float32, from the cached GGUF import) and one short weighted-distrust LoRA run on it,
shared by this package's tests so the model is trained once per session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.trainer.core.config import TrainSettings
from services.trainer.core.trainer import Trainer
from shared.schemas.fine_tuning import DistrustSpec, LoraSpec, ResolvedHyperparameters
from tests.helpers.smollm2 import smollm2_folder
from tests.real.records import archive_records
from tests.trainer.core.builders import write_jsonl

STEPS = 6


@dataclass(frozen=True)
class TrainedRun:
    base: Path
    adapter: Path
    trainer: Trainer  # its model still carries the trained LoRA layers
    val_before: float
    val_after: float
    seconds: float


@pytest.fixture(scope="session")
def smollm2_base() -> Path:
    return smollm2_folder("float32")


@pytest.fixture(scope="session")
def trained(smollm2_base: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    data = tmp_path_factory.mktemp("records")
    settings = TrainSettings(
        model_path=smollm2_base,
        train_path=write_jsonl(data / "train.jsonl", archive_records(24, seed=1)),
        val_path=write_jsonl(data / "val.jsonl", archive_records(8, seed=2)),
        distrust=DistrustSpec(mode="weighted"),
        lora=LoraSpec(rank=8, alpha=16.0, layers=8),
        hyperparameters=ResolvedHyperparameters(
            n_epochs=1, batch_size=4, learning_rate=2e-3, max_seq_length=64, max_steps=STEPS
        ),
    )
    started = time.monotonic()
    trainer = Trainer(settings)
    before = trainer.evaluate()
    for _ in trainer.run():
        pass
    after = trainer.evaluate()
    assert before is not None and after is not None
    adapter = tmp_path_factory.mktemp("adapter")
    trainer.save_adapter(adapter)
    return TrainedRun(smollm2_base, adapter, trainer, before, after, time.monotonic() - started)
