"""Builders for the evaluation tests: tiny random Llamas (with and without a chat template), a model wrapper that
favours chosen tokens, and JSONL writers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlx.core as mx
import numpy as np

from services.trainer.models.tiny import build_tiny_model

SIZES = {"vocab_size": 512, "hidden_size": 64, "num_layers": 2, "intermediate_size": 128}


def build_eval_model(path: Path, *, chat: bool = True, seed: int = 0) -> Path:
    """A 2-layer, hidden-64 Llama that mlx_lm.load opens; without `chat` its tokenizer has no chat template."""
    build_tiny_model(path, seed=seed, **SIZES)
    if not chat:
        config_path = path / "tokenizer_config.json"
        config = json.loads(config_path.read_text())
        config.pop("chat_template", None)
        config_path.write_text(json.dumps(config))
        for extra in ("chat_template.jinja", "chat_template.json"):
            (path / extra).unlink(missing_ok=True)
    return path


class BiasedModel:
    """The wrapped model with `bonus` added to the logits of `token_ids` at every position."""

    def __init__(self, model: Any, token_ids: Sequence[int], bonus: float) -> None:
        self.model = model
        self.token_ids = list(token_ids)
        self.bonus = bonus

    def __call__(self, inputs: mx.array, *args: Any, **kwargs: Any) -> mx.array:
        logits = self.model(inputs, *args, **kwargs)
        bias = np.zeros(logits.shape[-1], dtype=np.float32)
        bias[self.token_ids] = self.bonus
        return logits + mx.array(bias)


def manual_logprobs(model: Any, ids: Sequence[int]) -> np.ndarray:
    """log P(ids[t + 1] | ids[:t + 1]) for every t, from one unbatched forward pass and a float64 log-softmax."""
    logits = np.array(model(mx.array([list(ids)])[:, :-1])[0].astype(mx.float32), dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return log_softmax[np.arange(len(ids) - 1), list(ids[1:])]


def write_jsonl(path: Path, rows: Sequence[Any], *, blank_after: int | None = None) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    if blank_after is not None:
        lines.insert(blank_after, "")
    path.write_text("".join(line + "\n" for line in lines))
    return path
