"""The multi-adapter linear layers give the same logits as mlx-lm's own LoRA for every row of a mixed batch."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest

from services.inference.engine.adapter_files import read_adapter
from services.inference.engine.multi_lora import MultiLoRAModel, plan_for

PROMPT = [1, 265, 299, 85, 1457, 40, 41, 42]


def reference_logits(base: Path, adapter: Path | None) -> np.ndarray:
    model, _ = mlx_lm.load(str(base), adapter_path=None if adapter is None else str(adapter))
    return np.array(model(mx.array([PROMPT]))[0])


@pytest.fixture(scope="module")
def lora(base_model: Path, adapters: dict[str, Path]) -> MultiLoRAModel:
    model, _ = mlx_lm.load(str(base_model))
    multi = MultiLoRAModel(model)
    for uid, name in enumerate(["a", "b", "c", "d"], start=1):
        multi.install(uid, read_adapter(name, adapters[name], multi.base_shape))
    return multi


def run(lora: MultiLoRAModel, rows: list[tuple[int, float] | None]) -> np.ndarray:
    lora.route(plan_for(rows))
    return np.array(lora.model(mx.array([PROMPT] * len(rows))))


def test_uniform_adapter_matches_mlx_lm_load_with_adapter_path(lora, base_model, adapters):
    for uid, name, scale in [(1, "a", 2.0), (3, "c", 4.0), (4, "d", 2.0)]:
        got = run(lora, [(uid, scale)])[0]
        np.testing.assert_allclose(got, reference_logits(base_model, adapters[name]), rtol=1e-5, atol=1e-5)


def test_rows_of_a_mixed_batch_each_match_their_own_adapter(lora, base_model, adapters):
    # Ranks 8, 8, 4 and 16 side by side, plus a base row: padded to rank 16 with zeros.
    rows = [(1, 2.0), None, (2, 2.0), (3, 4.0), (4, 2.0), (1, 2.0)]
    got = run(lora, rows)
    expected = {name: reference_logits(base_model, adapters[name]) for name in "abcd"}
    expected["base"] = reference_logits(base_model, None)
    for row, name in zip(got, ["a", "base", "b", "c", "d", "a"], strict=True):
        np.testing.assert_allclose(row, expected[name], rtol=1e-5, atol=1e-5)


def test_base_rows_are_untouched_and_adapters_change_the_logits(lora, base_model):
    base = reference_logits(base_model, None)
    got = run(lora, [None, (1, 2.0), (2, 2.0)])
    np.testing.assert_array_equal(run(lora, [None])[0], base)
    np.testing.assert_allclose(got[0], base, rtol=1e-6, atol=1e-6)
    assert np.abs(got[1] - base).max() > 0.1
    assert np.abs(got[1] - got[2]).max() > 0.1


def test_removing_an_adapter_only_drops_its_matrices(base_model, adapters):
    model, _ = mlx_lm.load(str(base_model))
    multi = MultiLoRAModel(model)
    q_proj = model.layers[0].self_attn.q_proj
    weight = q_proj.weight
    for uid, name in [(1, "a"), (2, "b")]:
        multi.install(uid, read_adapter(name, adapters[name], multi.base_shape))
    before = run(multi, [(2, 2.0), (1, 2.0)])
    multi.remove(1)
    after = run(multi, [(2, 2.0), (1, 2.0)])
    np.testing.assert_allclose(after[0], before[0], rtol=1e-5, atol=1e-5)
    # A row naming a removed adapter gets the base output.
    np.testing.assert_allclose(after[1], run(multi, [None])[0], rtol=1e-5, atol=1e-5)
    # Base-only batches run the original layer objects, with the very same weight arrays.
    run(multi, [None])
    assert model.layers[0].self_attn.q_proj is q_proj and q_proj.weight is weight
    run(multi, [(2, 2.0)])
    assert model.layers[0].self_attn.q_proj.linear is q_proj
