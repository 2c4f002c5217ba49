"""A small base model and a random adapter, built once per session (well under a second each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.trainer.exports.builders import build_adapter, build_base


@pytest.fixture(scope="session")
def export_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_base(tmp_path_factory.mktemp("export-models") / "base-llama")


@pytest.fixture(scope="session")
def export_adapter(export_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_adapter(export_base, tmp_path_factory.mktemp("export-adapters") / "adapter")
