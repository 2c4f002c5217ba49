"""Next-token logits of a whole prompt from an mlx-lm model, and greedy decoding through mlx-lm and the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlx.core as mx
import numpy as np
from mlx_lm import stream_generate
from mlx_lm.sample_utils import make_sampler

from services.inference.engine import Engine
from services.inference.engine.api import GenerationRequest

QUESTION = "What is the capital of France?"
GREEDY_TOKENS = 32


def prompt_logits(model: Any, tokens: list[int]) -> np.ndarray:
    """[len(tokens), vocab] float32 logits of one forward pass without a cache."""
    logits = model(mx.array(tokens)[None])[0].astype(mx.float32)
    mx.eval(logits)
    return np.array(logits)


def chat_prompt(tokenizer: Any, question: str = QUESTION) -> list[int]:
    ids: list[int] = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True)
    return ids


def mlx_lm_greedy(model: Any, tokenizer: Any, question: str = QUESTION, max_tokens: int = GREEDY_TOKENS) -> str:
    prompt = chat_prompt(tokenizer, question)
    sampler = make_sampler(temp=0.0)
    return "".join(r.text for r in stream_generate(model, tokenizer, prompt, max_tokens=max_tokens, sampler=sampler))


def engine_greedy(
    model_dir: Path, *, adapter: Path | None = None, question: str = QUESTION, max_tokens: int = GREEDY_TOKENS
) -> str:
    """The inference service's engine, in process: the same batching, multi-LoRA and sampling code it serves with."""
    engine = Engine(model_dir, max_batch_size=2)
    try:
        if adapter is not None:
            engine.load_adapter("tuned", adapter)
        request = GenerationRequest(
            messages=[{"role": "user", "content": question}],
            adapter="tuned" if adapter is not None else None,
            max_tokens=max_tokens,
            temperature=0.0,
        )
        text, _ = engine.submit(request).text()
        return text
    finally:
        engine.close()
