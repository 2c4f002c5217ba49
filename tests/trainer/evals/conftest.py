"""Tiny models for the evaluation tests, built and loaded once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlx_lm
import pytest

from tests.trainer.evals.builders import build_eval_model


@pytest.fixture(scope="session")
def chat_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_eval_model(tmp_path_factory.mktemp("evals") / "chat-llama")


@pytest.fixture(scope="session")
def chat_model(chat_model_dir: Path) -> tuple[Any, Any]:
    model, tokenizer = mlx_lm.load(str(chat_model_dir))
    return model, tokenizer


@pytest.fixture(scope="session")
def plain_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    path = build_eval_model(tmp_path_factory.mktemp("evals") / "plain-llama", chat=False)
    model, tokenizer = mlx_lm.load(str(path))
    assert not tokenizer.has_chat_template
    return model, tokenizer
