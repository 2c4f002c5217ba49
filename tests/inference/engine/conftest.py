"""Engine fixtures: a small random Llama (HF layout) and LoRA adapters for it, built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlx_lm
import pytest

from services.inference.engine import Engine
from services.trainer.models.tiny import build_tiny_model
from tests.helpers.random_adapter import write_random_adapter as write_adapter


@pytest.fixture(scope="session")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("engine") / "base", seed=0, hidden_size=64, num_layers=2)


@pytest.fixture(scope="session")
def adapters(base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four adapters: a and b (all layers, rank 8), c (rank 4, top block only), d (rank 16, attention only)."""
    model, _ = mlx_lm.load(str(base_model))
    root = tmp_path_factory.mktemp("adapters")
    return {
        "a": write_adapter(root / "a", model, seed=1),
        "b": write_adapter(root / "b", model, seed=2),
        "c": write_adapter(root / "c", model, seed=3, rank=4, num_layers=1, scale=4.0),
        "d": write_adapter(root / "d", model, seed=4, rank=16, keys=["self_attn.q_proj", "self_attn.v_proj"]),
    }


@pytest.fixture(scope="module")
def engine(base_model: Path, adapters: dict[str, Path]) -> Iterator[Engine]:
    with Engine(base_model, max_batch_size=8, adapter_cache_size=8) as eng:
        for name, path in adapters.items():
            eng.load_adapter(name, path)
        yield eng
