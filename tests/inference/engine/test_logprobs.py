"""Logprobs: each generated token's log-probability equals log_softmax of the model's logits for it (tolerance
1e-4, float32), alone and batched with adapter and seeded rows; a prompt's own tokens likewise (`echo`)."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest

from services.inference.engine import Engine, GenerationRequest
from services.inference.engine.api import Delta, TokenLogprob
from shared.errors import InvalidArgument

PROMPT = "The letters in the archive"
TOL = 1e-4


def _entries(handle: object) -> tuple[str, list[TokenLogprob]]:
    text, entries = [], []
    for item in handle:  # type: ignore[attr-defined]
        if isinstance(item, Delta):
            text.append(item.text)
            entries.extend(item.logprobs)
    return "".join(text), entries


def _reference(base_model: Path, ids: list[int]) -> np.ndarray:
    model, _ = mlx_lm.load(str(base_model))
    logits = model(mx.array([ids])).astype(mx.float32)[0]
    return np.array(logits - mx.logsumexp(logits, axis=-1, keepdims=True))


def test_generated_logprobs_equal_the_models_log_softmax(engine: Engine, base_model: Path) -> None:
    request = GenerationRequest(prompt=PROMPT, max_tokens=6, temperature=0.0, logprobs=3)
    handles = [
        engine.submit(GenerationRequest(prompt=PROMPT, adapter="a", max_tokens=8, temperature=0.7, seed=1)),
        engine.submit(request),
        engine.submit(GenerationRequest(prompt="Other words", max_tokens=8, temperature=1.0, seed=9, logprobs=0)),
    ]
    results = [_entries(h) for h in handles]
    batched = results[1][1]
    alone = _entries(engine.submit(request))[1]
    assert [e.token for e in batched] == [e.token for e in alone] and len(batched) == 6
    prompt = engine._prompts.encode(request)  # the engine's own prompt ids
    ids = prompt + [e.token for e in batched]
    reference = _reference(base_model, ids)
    for k, entry in enumerate(batched):
        row = reference[len(prompt) - 1 + k]
        assert entry.logprob == pytest.approx(float(row[entry.token]), abs=TOL)
        assert [t for t, _, _ in entry.top] == list(np.argsort(-row)[:3])
        assert entry.top[0][2] == pytest.approx(float(row.max()), abs=TOL)
        assert entry.top[0][0] == entry.token  # greedy: the chosen token is the most likely one
    assert results[0][1] == [] and len(results[2][1]) == 8 and all(e.top == () for e in results[2][1])


def test_prompt_logprobs_score_every_token_after_the_first(engine: Engine, base_model: Path) -> None:
    ids, entries = engine.prompt_logprobs(GenerationRequest(prompt=PROMPT, logprobs=2))
    assert [e.token for e in entries] == ids and entries[0].logprob is None
    reference = _reference(base_model, ids)
    for i in range(1, len(ids)):
        assert entries[i].logprob == pytest.approx(float(reference[i - 1][ids[i]]), abs=TOL)
        assert len(entries[i].top) == 2
    token_ids, _ = engine.prompt_logprobs(GenerationRequest(prompt=ids, logprobs=0))
    assert token_ids == ids


def test_too_many_top_logprobs_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(GenerationRequest(prompt=PROMPT, max_tokens=2, logprobs=21))
    assert caught.value.param == "top_logprobs"
