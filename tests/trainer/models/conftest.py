"""The built-in model, built once per session (it takes well under a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.trainer.models.tiny import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "distrust-tiny-llama", seed=0)
