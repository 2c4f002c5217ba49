"""Batched per-row sampling: right distribution, mlx-lm's top-p, greedy rows exact, rows independent."""

from __future__ import annotations

import mlx.core as mx
import numpy as np
from mlx_lm.sample_utils import apply_top_p as mlx_lm_top_p

from services.inference.engine.sampling import BatchSampling, RowSampling, apply_top_p, initial_keys, sample

PROBS = [0.5, 0.3, 0.15, 0.05]


def draw(rows: list[RowSampling], logits: mx.array) -> list[int]:
    tokens, _ = sample(logits, BatchSampling.of(rows), initial_keys(rows))
    return tokens.tolist()


def test_sampled_frequencies_follow_the_distribution_and_temperature():
    n = 4000
    logits = mx.log(mx.array([PROBS] * n))
    counts = np.bincount(draw([RowSampling(1.0, 1.0, seed) for seed in range(n)], logits), minlength=4) / n
    np.testing.assert_allclose(counts, PROBS, atol=0.03)
    # Temperature 0.5 squares the probabilities (then renormalises).
    sharp = np.array(PROBS) ** 2 / sum(p * p for p in PROBS)
    counts = np.bincount(draw([RowSampling(0.5, 1.0, seed) for seed in range(n)], logits), minlength=4) / n
    np.testing.assert_allclose(counts, sharp, atol=0.03)


def test_top_p_keeps_the_smallest_nucleus():
    n = 1000
    logits = mx.log(mx.array([PROBS] * n))
    tokens = draw([RowSampling(1.0, 0.6, seed) for seed in range(n)], logits)
    assert set(tokens) == {0, 1}


def test_per_row_top_p_matches_mlx_lm_and_leaves_top_p_1_rows_alone():
    logits = mx.random.normal((3, 50), key=mx.random.key(0))
    logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    got = apply_top_p(logprobs, mx.array([[0.9], [1.0], [0.3]]))
    for row, p in [(0, 0.9), (2, 0.3)]:
        np.testing.assert_array_equal(np.array(got[row]), np.array(mlx_lm_top_p(logprobs[row : row + 1], p)[0]))
    np.testing.assert_array_equal(np.array(got[1]), np.array(logprobs[1]))


def test_greedy_rows_take_the_argmax_next_to_sampled_rows():
    logits = mx.random.normal((4, 100), key=mx.random.key(1))
    rows = [RowSampling(0.0, 1.0, None), RowSampling(1.5, 0.8, 3), RowSampling(0.0, 1.0, 9), RowSampling(1.0, 1.0, 4)]
    tokens = draw(rows, logits)
    best = np.argmax(np.array(logits), axis=-1)
    assert tokens[0] == best[0] and tokens[2] == best[2]


def test_a_seeded_row_draws_the_same_token_whatever_its_neighbours():
    logits = mx.random.normal((1, 3000), key=mx.random.key(2))
    alone = draw([RowSampling(1.0, 1.0, 42)], logits)[0]
    others = mx.random.normal((5, 3000), key=mx.random.key(3))
    for position in range(6):
        rows = [RowSampling(1.0, 1.0, 1000 + i) for i in range(5)]
        rows.insert(position, RowSampling(1.0, 1.0, 42))
        batch = mx.concatenate([others[:position], logits, others[position:]])
        assert draw(rows, batch)[position] == alone
