"""Builders for the export tests: a small base model whose sizes every quantization group size divides, a random
non-zero adapter, a quantized copy of the base, and greedy decoding."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import mlx.core as mx
from mlx import nn
from mlx_lm.utils import load, quantize_model, save_config, save_model

from services.trainer.models.tiny import build_tiny_model
from tests.helpers.random_adapter import write_random_adapter

# hidden 128 and intermediate 256: group sizes 32, 64 and 128 all divide every linear layer's input.
SIZES: dict[str, Any] = {
    "vocab_size": 512,
    "hidden_size": 128,
    "num_layers": 2,
    "num_heads": 4,
    "num_kv_heads": 2,
    "intermediate_size": 256,
    "context_length": 256,
}
PROMPTS = ("The letter was", "In the archive, 1923: witness's notes!", "Observed data")
MAX_TOKENS = 10


def build_base(path: Path) -> Path:
    return build_tiny_model(path, seed=3, **SIZES)


def build_adapter(base: Path, path: Path, *, seed: int = 7) -> Path:
    model, _ = load(str(base))
    return write_random_adapter(path, model, seed=seed, rank=4, scale=2.0)


def build_quantized_base(base: Path, path: Path, *, bits: int = 4) -> Path:
    """The base quantized as `mlx_lm.convert -q` would write it (tokenizer files copied)."""
    model, _ = load(str(base))
    config = json.loads((base / "config.json").read_text())
    with contextlib.redirect_stdout(io.StringIO()):
        model, config = quantize_model(model, config, 64, bits)
    save_model(path, model)
    save_config(config, path / "config.json")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"):
        (path / name).write_bytes((base / name).read_bytes())
    return path


def greedy(model: nn.Module, tokenizer: Any, prompt: str, n: int = MAX_TOKENS) -> list[int]:
    """`n` argmax tokens after `prompt` (no cache: the model is tiny)."""
    tokens = mx.array([tokenizer.encode(prompt)])
    out: list[int] = []
    for _ in range(n):
        nxt = int(mx.argmax(model(tokens)[0, -1]))
        out.append(nxt)
        tokens = mx.concatenate([tokens, mx.array([[nxt]])], axis=1)
    return out


def greedy_all(model: nn.Module, tokenizer: Any) -> dict[str, list[int]]:
    return {prompt: greedy(model, tokenizer, prompt) for prompt in PROMPTS}


def safetensors_names(model_dir: Path) -> dict[str, mx.array]:
    weights: dict[str, mx.array] = {}
    for file in sorted(model_dir.glob("model*.safetensors")):
        weights |= mx.load(str(file))
    return weights
