"""Preference losses against values computed by hand, their gradients, and answer log-probabilities on a model."""

from __future__ import annotations

import math
from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest

from services.trainer.core.preference import PairScores, answer_logprobs, preference_loss
from shared.errors import InvalidArgument


def _scores(chosen: list[float], rejected: list[float], chosen_n: list[float], rejected_n: list[float]) -> PairScores:
    return PairScores(mx.array(chosen), mx.array(rejected), mx.array(chosen_n), mx.array(rejected_n))


POLICY = _scores([-2.0, -5.0], [-3.0, -4.0], [2, 4], [3, 1])
REFERENCE = _scores([-2.5, -5.0], [-2.5, -4.5], [2, 4], [3, 1])


def _neg_log_sigmoid(x: float) -> float:
    return math.log1p(math.exp(-x))


def test_sigmoid_dpo_loss_rewards_margin_and_accuracy() -> None:
    stats = preference_loss("sigmoid", POLICY, REFERENCE, beta=0.1)
    # h = (π_c − ρ_c) − (π_r − ρ_r): pair 1: 0.5 − (−0.5) = 1.0; pair 2: 0 − 0.5 = −0.5
    expected = (_neg_log_sigmoid(0.1 * 1.0) + _neg_log_sigmoid(0.1 * -0.5)) / 2
    assert stats.loss.item() == pytest.approx(expected, rel=1e-6)
    assert stats.chosen_reward.item() == pytest.approx((0.05 + 0.0) / 2)
    assert stats.rejected_reward.item() == pytest.approx((-0.05 + 0.05) / 2)
    assert stats.margin.item() == pytest.approx((0.1 - 0.05) / 2)
    assert stats.accuracy.item() == 0.5
    weighted = preference_loss("sigmoid", POLICY, REFERENCE, beta=0.1, weights=mx.array([3.0, 1.0]))
    expected_weighted = (3 * _neg_log_sigmoid(0.1) + _neg_log_sigmoid(-0.05)) / 4
    assert weighted.loss.item() == pytest.approx(expected_weighted, rel=1e-6)


def test_ipo_uses_per_token_means_and_its_target_margin() -> None:
    stats = preference_loss("ipo", POLICY, REFERENCE, beta=0.1)
    h1 = 0.5 / 2 - (-0.5) / 3
    h2 = 0.0 / 4 - 0.5 / 1
    assert stats.loss.item() == pytest.approx(((h1 - 5.0) ** 2 + (h2 - 5.0) ** 2) / 2, rel=1e-6)


def test_simpo_needs_no_reference() -> None:
    stats = preference_loss("simpo", POLICY, None, beta=2.0, gamma=0.5)
    # h = π_c/|c| − π_r/|r|: pair 1: −1 − (−1) = 0; pair 2: −1.25 − (−4) = 2.75
    expected = (_neg_log_sigmoid(2.0 * 0.0 - 0.5) + _neg_log_sigmoid(2.0 * 2.75 - 0.5)) / 2
    assert stats.loss.item() == pytest.approx(expected, rel=1e-6)
    assert stats.accuracy.item() == 0.5  # pair 1 is a tie: not counted right


def test_the_dpo_gradient_is_the_hand_derived_one() -> None:
    beta = 0.1

    def loss(chosen: mx.array) -> mx.array:
        policy = PairScores(chosen, POLICY.rejected, POLICY.chosen_tokens, POLICY.rejected_tokens)
        return preference_loss("sigmoid", policy, REFERENCE, beta=beta).loss

    grad = mx.grad(loss)(POLICY.chosen)
    # d/dπ_c of −log σ(β h) / n = −β σ(−β h) / n
    expected = [-beta / (1 + math.exp(beta * h)) / 2 for h in (1.0, -0.5)]
    assert np.allclose(np.array(grad), expected, rtol=1e-5)


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(InvalidArgument) as beta:
        preference_loss("sigmoid", POLICY, REFERENCE, beta=0.0)
    assert beta.value.param == "beta"
    with pytest.raises(InvalidArgument) as kind:
        preference_loss("kto", POLICY, REFERENCE, beta=0.1)  # type: ignore[arg-type]  # the refusal is the test
    assert kind.value.param == "loss"
    with pytest.raises(InvalidArgument, match="reference"):
        preference_loss("sigmoid", POLICY, None, beta=0.1)


def test_answer_logprobs_sum_the_answer_tokens_only(tiny_model: Path) -> None:
    model = mlx_lm.load(str(tiny_model))[0]
    tokens = mx.array([[5, 9, 12, 7, 3, 0], [4, 4, 8, 2, 0, 0]])
    mask = mx.array([[0, 0, 1, 1, 1], [0, 1, 1, 0, 0]], dtype=mx.float32)  # the answer's target positions
    total, count = answer_logprobs(model, tokens, mask)
    logits = np.array(model(tokens[:, :-1]).astype(mx.float32)).astype(np.float64)
    logp = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    targets = np.array(tokens[:, 1:])
    for row in range(2):
        picked = [logp[row, t, targets[row, t]] for t in range(5) if np.array(mask)[row, t]]
        assert float(np.array(total)[row]) == pytest.approx(sum(picked), rel=1e-4)
    assert np.array(count).tolist() == [3.0, 2.0]
