"""Checkpoint files: typed state and adapter config read back as written, the adapter half loads in mlx-lm, and a
file that parses badly (though its checksum matches) is a FailedPrecondition naming the file and the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest

from services.trainer.core import checkpoint as ckpt
from services.trainer.core.config import TrainSettings
from services.trainer.core.trainer import Trainer
from shared.adapter_format import ADAPTER_CONFIG, read_adapter_config
from shared.errors import FailedPrecondition
from shared.schemas.fine_tuning import DistrustSpec

Settings = Callable[..., TrainSettings]


@pytest.fixture
def saved(settings_for: Settings, records: Callable[..., Any], tmp_path: Path) -> tuple[Trainer, Path]:
    trainer = Trainer(settings_for(records(8, seed=4), distrust=DistrustSpec(mode="additive", lambda_=0.3)))
    list(trainer.run(should_stop=lambda: trainer.step >= 2))
    directory = tmp_path / "ck"
    trainer.save_checkpoint(directory)
    return trainer, directory


def test_a_checkpoint_reads_back_typed_and_is_an_adapter_mlx_lm_loads(
    saved: tuple[Trainer, Path], tiny_model: Path
) -> None:
    trainer, directory = saved
    loaded = ckpt.read_checkpoint(directory)
    assert loaded.state.step == trainer.step == 2 and loaded.state.total_steps == trainer.total_steps
    assert loaded.state.settings == json.loads(json.dumps(trainer.settings.continuation_fingerprint()))
    assert loaded.adapter_config == read_adapter_config(directory)
    assert loaded.adapter_config.distrust == DistrustSpec(mode="additive", lambda_=0.3)
    assert loaded.adapter_config.trained_steps == 2 and loaded.adapter_config.lora().rank == 4

    model = mlx_lm.load(str(tiny_model), adapter_path=str(directory))[0]
    tokens = mx.array([trainer.examples[0].tokens.tolist()])
    trainer.model.eval()
    np.testing.assert_allclose(np.array(model(tokens)), np.array(trainer.model(tokens)), atol=1e-5, rtol=0)


def rewrite(directory: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change one JSON file of a checkpoint and re-sign it in the manifest, so only parsing can catch it."""
    path = directory / name
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    manifest = json.loads((directory / ckpt.MANIFEST).read_text())
    manifest["files"][name] = {"sha256": ckpt._sha256(path), "bytes": path.stat().st_size}
    (directory / ckpt.MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("name", "edit", "words"),
    [
        (ckpt.STATE, lambda d: d["rng"].update(mlx=[1, 2, 3]), "trainer_state.json cannot be parsed (rng.mlx:"),
        (ckpt.STATE, lambda d: d.pop("data_fingerprint"), "trainer_state.json cannot be parsed (data_fingerprint:"),
        (ckpt.STATE, lambda d: d.update(step=-1), "trainer_state.json cannot be parsed (step:"),
        (
            ADAPTER_CONFIG,
            lambda d: d["lora_parameters"].update(rank=0),
            "adapter cannot be read (adapter_config.json.lora_parameters.rank: got 0",
        ),
        (
            ADAPTER_CONFIG,
            lambda d: d["distrust"].update(mode="sometimes"),
            "adapter cannot be read (adapter_config.json.distrust.mode: got 'sometimes'",
        ),
    ],
)
def test_a_file_that_does_not_parse_is_named(
    saved: tuple[Trainer, Path], name: str, edit: Callable[[dict[str, Any]], None], words: str
) -> None:
    trainer, directory = saved
    rewrite(directory, name, edit)
    with pytest.raises(FailedPrecondition) as caught:
        trainer.restore(directory)
    assert str(directory) in caught.value.message and words in caught.value.message, caught.value.message
    assert caught.value.code == "invalid_checkpoint"
