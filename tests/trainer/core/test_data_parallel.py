"""Data-parallel training: two ranks on this machine (MLX's ring backend over 127.0.0.1, one process each) take
the same steps as one host with the same global batch — step losses within 1e-5 and adapter tensors within 1e-4
(float32 sums taken in another order; the tensors' own scale is about 1e-1)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlx.core as mx
import numpy as np
import pytest

from services.trainer.core.config import TrainSettings
from services.trainer.core.data import Batch
from services.trainer.core.distributed import shard
from services.trainer.core.trainer import Trainer
from shared.adapter_format import load_adapter_tensors
from shared.schemas.fine_tuning import DistrustSpec
from tests.helpers.host import REPO, free_port


def _two_ranks(settings: TrainSettings, work: Path) -> tuple[dict[str, mx.array], list[float]]:
    work.mkdir(parents=True, exist_ok=True)
    settings_file = work / "settings.pkl"
    settings_file.write_bytes(pickle.dumps(settings))
    hosts = ",".join(f"127.0.0.1:{free_port()}" for _ in range(2))
    ranks = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.train_rank", str(settings_file), hosts, str(rank), str(work)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(2)
    ]
    for rank in ranks:
        output, _ = rank.communicate(timeout=300)
        assert rank.returncode == 0, output.decode(errors="replace")[-3000:]
    return load_adapter_tensors(work / "adapter"), json.loads((work / "losses.json").read_text())


@pytest.mark.parametrize(
    ("mode", "accumulation", "n_records"),
    [("weighted", 1, 22), ("additive", 2, 24)],
)
def test_two_ranks_take_the_steps_of_one_host(
    settings_for: Callable[..., TrainSettings],
    records: Callable[..., list[dict[str, Any]]],
    tmp_path: Path,
    mode: str,
    accumulation: int,
    n_records: int,
) -> None:
    settings = settings_for(
        records(n_records, seed=3),
        distrust=DistrustSpec(mode=mode),
        seed=5,
        n_epochs=2,
        batch_size=4,
        gradient_accumulation_steps=accumulation,
        learning_rate=1e-2,
    )
    alone = Trainer(settings)
    losses_alone = [r.train_loss for r in alone.run()]
    alone.save_adapter(tmp_path / "alone")
    tensors, losses = _two_ranks(settings, tmp_path / "ranks")
    assert len(losses) == len(losses_alone) == alone.total_steps
    assert max(abs(a - b) for a, b in zip(losses, losses_alone, strict=True)) < 1e-5, (losses, losses_alone)
    expected = load_adapter_tensors(tmp_path / "alone")
    assert tensors.keys() == expected.keys()
    worst = max(mx.abs(tensors[k] - expected[k]).max().item() for k in expected)
    assert worst < 1e-4, worst
    moved = max(mx.abs(expected[k]).max().item() for k in expected if "lora_b" in k)
    assert moved > 1e-3  # the adapters trained (lora_b starts at zero)


def test_a_micro_batch_is_split_by_rows() -> None:
    batch = Batch(np.arange(15).reshape(5, 3), np.ones((5, 2)), np.arange(5.0), (10, 11, 12, 13, 14))
    first, second = shard(batch, 0, 2), shard(batch, 1, 2)
    assert first is not None and second is not None
    assert first.indices == (10, 12, 14) and second.indices == (11, 13)
    assert first.weights.tolist() == [0.0, 2.0, 4.0] and second.tokens.tolist() == [[3, 4, 5], [9, 10, 11]]
    assert shard(Batch(batch.tokens[:1], batch.mask[:1], batch.weights[:1], (10,)), 1, 2) is None


@pytest.mark.slow
def test_two_ranks_train_the_real_model_like_one_host(tmp_path: Path) -> None:
    """SmolLM2-135M-Instruct (float32, LoRA on the top 8 blocks), 4 steps of a global batch of 4: two ranks
    match one host within 1e-4 on the losses and within 1e-4 of the largest LoRA value on the adapter."""
    from services.trainer.core.config import TrainSettings
    from shared.schemas.fine_tuning import LoraSpec, ResolvedHyperparameters
    from tests.helpers.smollm2 import smollm2_folder
    from tests.trainer.core.builders import text_records, write_jsonl

    settings = TrainSettings(
        model_path=smollm2_folder("float32"),
        train_path=write_jsonl(tmp_path / "train.jsonl", text_records(16, seed=9)),
        lora=LoraSpec(rank=8, alpha=16.0, layers=8),
        seed=3,
        hyperparameters=ResolvedHyperparameters(n_epochs=1, batch_size=4, learning_rate=1e-3, max_seq_length=64),
    )
    alone = Trainer(settings)
    losses_alone = [r.train_loss for r in alone.run()]
    alone.save_adapter(tmp_path / "alone")
    tensors, losses = _two_ranks(settings, tmp_path / "ranks")
    assert max(abs(a - b) for a, b in zip(losses, losses_alone, strict=True)) < 1e-4, (losses, losses_alone)
    expected = load_adapter_tensors(tmp_path / "alone")
    scale = max(mx.abs(expected[k]).max().item() for k in expected)
    worst = max(mx.abs(tensors[k] - expected[k]).max().item() for k in expected)
    assert worst < 1e-4 * max(scale, 1.0), (worst, scale)
