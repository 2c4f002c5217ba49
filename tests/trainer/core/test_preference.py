"""Preference losses against values computed by hand, their gradients, and answer log-probabilities on a model."""

from __future__ import annotations

import math
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import mlx_lm
import numpy as np
import pytest

from services.trainer.core.lora import apply_lora
from services.trainer.core.pairs import PairBatch, load_pairs, make_pair_batch
from services.trainer.core.preference import (
    PairScores,
    PreferenceLoss,
    answer_logprobs,
    pair_objective,
    preference_loss,
    reference_scores,
)
from services.trainer.core.tokenization import Tokenization
from shared.errors import InvalidArgument
from shared.schemas.fine_tuning import LoraSpec
from tests.trainer.core.builders import write_jsonl
from tests.trainer.core.test_pairs import PAIRS


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


def test_rpo_adds_the_chosen_answers_mean_token_nll() -> None:
    for kind, reference in (("sigmoid", REFERENCE), ("ipo", REFERENCE), ("simpo", None)):
        plain = preference_loss(kind, POLICY, reference, beta=0.1)
        rpo = preference_loss(kind, POLICY, reference, beta=0.1, rpo_alpha=0.5)
        # −π_c / |c|: pair 1: 2 / 2 = 1; pair 2: 5 / 4 = 1.25
        assert rpo.loss.item() == pytest.approx(plain.loss.item() + 0.5 * (1.0 + 1.25) / 2, rel=1e-6)
        assert (rpo.margin.item(), rpo.accuracy.item()) == (plain.margin.item(), plain.accuracy.item())

    def loss(chosen: mx.array) -> mx.array:
        policy = PairScores(chosen, POLICY.rejected, POLICY.chosen_tokens, POLICY.rejected_tokens)
        return preference_loss("sigmoid", policy, REFERENCE, beta=0.1, rpo_alpha=0.5).loss

    grad = mx.grad(loss)(POLICY.chosen)
    expected = [(-0.1 / (1 + math.exp(0.1 * h)) - 0.5 / n) / 2 for h, n in ((1.0, 2), (-0.5, 4))]
    assert np.allclose(np.array(grad), expected, rtol=1e-5)


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
    with pytest.raises(InvalidArgument) as alpha:
        preference_loss("sigmoid", POLICY, REFERENCE, beta=0.1, rpo_alpha=-1.0)
    assert alpha.value.param == "rpo_alpha"
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


def _pair_batch(tiny_model: Path, tmp_path: Path) -> tuple[PairBatch, Tokenization]:
    tokenization = Tokenization(mlx_lm.load(str(tiny_model))[1], max_seq_length=256, completion_only=True)
    pairs, _ = load_pairs(write_jsonl(tmp_path / "pairs.jsonl", PAIRS), tokenization, field="training_file")
    batch = make_pair_batch(pairs, [0, 1], np.ones(2), pad_id=tokenization.pad_id, max_seq_length=256)
    return batch, tokenization


def test_the_reference_is_the_base_models_scores(tiny_model: Path, tmp_path: Path) -> None:
    batch, _ = _pair_batch(tiny_model, tmp_path)
    base = mlx_lm.load(str(tiny_model))[0]
    policy = mlx_lm.load(str(tiny_model))[0]
    apply_lora(policy, LoraSpec(rank=4, alpha=8.0))  # a fresh adapter changes nothing yet
    from_policy = reference_scores(policy, [batch], 2)
    assert np.allclose(from_policy, reference_scores(base, [batch], 2), atol=1e-5)
    assert (from_policy < 0).all()


@pytest.mark.parametrize("kind", ["sigmoid", "ipo", "simpo"])
def test_preference_steps_raise_the_margin(kind: PreferenceLoss, tiny_model: Path, tmp_path: Path) -> None:
    batch, _ = _pair_batch(tiny_model, tmp_path)
    model = mlx_lm.load(str(tiny_model))[0]
    apply_lora(model, LoraSpec(rank=4, alpha=16.0))
    reference = mx.array(reference_scores(model, [batch], 2))
    loss_and_grad = nn.value_and_grad(model, pair_objective(kind, beta=0.5 if kind != "simpo" else 2.0))
    optimizer = optim.Adam(learning_rate=2e-2)
    args = (mx.array(batch.tokens), mx.array(batch.mask), mx.array(batch.weights), reference)
    (first, *_), _ = loss_and_grad(model, *args)
    for _ in range(15):
        (loss, margin, accuracy, *_), grad = loss_and_grad(model, *args)
        optimizer.update(model, grad)
        mx.eval(model.parameters(), optimizer.state)
    (last, margin, accuracy, *_), _ = loss_and_grad(model, *args)
    assert last.item() < first.item() and accuracy.item() == 1.0
    if kind != "simpo":
        assert margin.item() > 0
