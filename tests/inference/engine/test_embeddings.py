"""Embeddings: mean-pooled final hidden states, unit length, the same batched as alone, adapters applied."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest

from services.inference.engine import Engine
from shared.errors import InvalidArgument

TEXTS = ["The river was measured at dawn.", "A letter from the archive", "ok"]
TOL = 1e-5  # float32 sums over a different padding width


def _direct(base_model: Path, text: str) -> np.ndarray:
    """The same pooling computed by hand with mlx-lm's own model, one text at a time."""
    model, tokenizer = mlx_lm.load(str(base_model))
    ids = tokenizer.encode(text)
    hidden = model.model(mx.array([ids])).astype(mx.float32)[0]
    pooled = np.array(hidden.mean(axis=0))
    return pooled / np.linalg.norm(pooled)


def test_vectors_are_unit_mean_pooled_and_equal_batched_or_alone(engine: Engine, base_model: Path) -> None:
    batched = engine.embed(TEXTS)
    alone = [engine.embed([text]).vectors[0] for text in TEXTS]
    assert len(batched.vectors) == len(TEXTS) and len(batched.vectors[0]) == engine.hidden_size
    for vector, single, text in zip(batched.vectors, alone, TEXTS, strict=True):
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=TOL)
        np.testing.assert_allclose(vector, single, atol=TOL)
        np.testing.assert_allclose(vector, _direct(base_model, text), atol=1e-4)
    assert batched.prompt_tokens == sum(engine.embed([t]).prompt_tokens for t in TEXTS)


def test_token_ids_dimensions_and_adapters(engine: Engine) -> None:
    ids = engine._tokenizer.encode(TEXTS[0])  # the engine's own tokenizer, for equal ids
    assert engine.embed([ids]).vectors == engine.embed([TEXTS[0]]).vectors
    short = engine.embed(TEXTS, dimensions=16)
    full = np.array(engine.embed(TEXTS).vectors)
    for vector, whole in zip(short.vectors, full, strict=True):
        assert len(vector) == 16 and np.linalg.norm(vector) == pytest.approx(1.0, abs=TOL)
        np.testing.assert_allclose(vector, whole[:16] / np.linalg.norm(whole[:16]), atol=TOL)
    adapted = engine.embed(TEXTS, adapter="a").vectors
    assert not np.allclose(adapted, full, atol=1e-3)  # the adapter changes the hidden states
    assert np.allclose(engine.embed(TEXTS, adapter="a").vectors, adapted, atol=TOL)


@pytest.mark.parametrize(
    ("inputs", "kwargs", "param"),
    [
        ([], {}, "input"),
        (["fine", ""], {}, "input[1]"),
        ([[1, 2, 10**9]], {}, "input[0]"),
        (["x" * 10], {"dimensions": 0}, "dimensions"),
        (["x"], {"dimensions": 10**6}, "dimensions"),
    ],
)
def test_bad_inputs_name_the_field(engine: Engine, inputs: list[object], kwargs: dict[str, int], param: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        engine.embed(inputs, **kwargs)  # type: ignore[arg-type]
    assert caught.value.param == param
