"""Preference objectives over (chosen, rejected) answer pairs: DPO's sigmoid loss, IPO, and reference-free SimPO.

Each pair's answers are scored by the policy (the model with its adapter) and, for DPO and IPO, by the reference
(the same model with the adapter switched off): the sum over the answer's tokens of log p(token | prefix).

    sigmoid (DPO):  h = (π_c − ρ_c) − (π_r − ρ_r),             loss = −log σ(β h)
    ipo:            h as above on per-token means,             loss = (h − 1 / (2β))²
    simpo:          h = π_c / |c| − π_r / |r|,                 loss = −log σ(β h − γ)

The implicit rewards are β (π − ρ) (DPO, IPO) or β π / |answer| (SimPO); a pair counts as right when the chosen
answer's reward is the larger. With `rpo_alpha` > 0 each pair's loss also gets α times the chosen answer's mean
token negative log-likelihood, −π_c / |c| (RPO, as TRL's `rpo_alpha`): DPO alone may lower the chosen answer's own
likelihood as long as the rejected one falls faster. Each pair's loss may be weighted (its provenance margin) and
the step's loss is the weighted mean over its pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import get_args

import mlx.core as mx
import numpy as np
from mlx.nn.layers.base import Module

from services.trainer.core.losses import token_cross_entropy
from services.trainer.core.pairs import PairBatch
from shared.errors import InvalidArgument, invalid_field
from shared.schemas.fine_tuning import PreferenceLoss

PREFERENCE_LOSSES: tuple[PreferenceLoss, ...] = get_args(PreferenceLoss)
REFERENCE_FREE: frozenset[PreferenceLoss] = frozenset({"simpo"})


@dataclass(frozen=True)
class PairScores:
    """Summed answer log-probabilities of each pair (shape [pairs]) and the answers' token counts."""

    chosen: mx.array
    rejected: mx.array
    chosen_tokens: mx.array
    rejected_tokens: mx.array


@dataclass(frozen=True)
class PreferenceStats:
    """What a step reports: the loss, and the mean log-probabilities, rewards, margin and accuracy over its pairs."""

    loss: mx.array
    chosen_logp: mx.array
    rejected_logp: mx.array
    chosen_reward: mx.array
    rejected_reward: mx.array
    margin: mx.array
    accuracy: mx.array


def answer_logprobs(model: Module, tokens: mx.array, mask: mx.array) -> tuple[mx.array, mx.array]:
    """(Σ log p over each row's answer tokens, the answer's token count): `mask` marks the answer's targets."""
    logits = model(tokens[:, :-1])
    logp = -token_cross_entropy(logits, tokens[:, 1:]) * mask
    return logp.sum(axis=1), mask.sum(axis=1)


def pair_scores(model: Module, tokens: mx.array, mask: mx.array) -> PairScores:
    """The scores of a pair batch's rows: the first half chosen answers, the second half rejected ones."""
    total, count = answer_logprobs(model, tokens, mask)
    half = tokens.shape[0] // 2
    return PairScores(total[:half], total[half:], count[:half], count[half:])


def reference_scores(model: Module, batches: Iterable[PairBatch], n_pairs: int) -> np.ndarray:
    """[n_pairs, 2] (chosen, rejected) summed log-probabilities under `model` as it is now, by pair index.

    Taken before the first step, they are the reference: the starting model (the base, or the adapter a job
    continues) with no second copy of the weights; a checkpoint keeps them for the resume.
    """
    scores = np.zeros((n_pairs, 2), dtype=np.float32)
    for batch in batches:
        pairs = pair_scores(model, mx.array(batch.tokens), mx.array(batch.mask))
        mx.eval(pairs.chosen, pairs.rejected)
        scores[list(batch.indices), 0] = np.array(pairs.chosen)
        scores[list(batch.indices), 1] = np.array(pairs.rejected)
    return scores


STAT_NAMES = ("reward_margin", "reward_accuracy", "chosen_logp", "rejected_logp")  # what an objective reports


def pair_objective(
    kind: PreferenceLoss, *, beta: float, gamma: float = 0.5, rpo_alpha: float = 0.0
) -> Callable[..., tuple[mx.array, ...]]:
    """objective(model, tokens, mask, weights, reference [B, 2]) -> (loss, *the stats named by STAT_NAMES)."""

    def objective(
        model: Module, tokens: mx.array, mask: mx.array, weights: mx.array, reference: mx.array
    ) -> tuple[mx.array, ...]:
        policy = pair_scores(model, tokens, mask)
        ref = PairScores(reference[:, 0], reference[:, 1], policy.chosen_tokens, policy.rejected_tokens)
        stats = preference_loss(kind, policy, ref, beta=beta, gamma=gamma, weights=weights, rpo_alpha=rpo_alpha)
        return stats.loss, stats.margin, stats.accuracy, stats.chosen_logp, stats.rejected_logp

    return objective


def preference_loss(
    kind: PreferenceLoss,
    policy: PairScores,
    reference: PairScores | None,
    *,
    beta: float,
    gamma: float = 0.5,
    weights: mx.array | None = None,
    rpo_alpha: float = 0.0,
) -> PreferenceStats:
    """The step's loss and statistics for `kind`; `reference` is None only for a reference-free loss."""
    if kind not in PREFERENCE_LOSSES:
        raise invalid_field("loss", kind, f"one of {', '.join(PREFERENCE_LOSSES)}")
    if not beta > 0:
        raise invalid_field("beta", beta, "a number > 0")
    if not rpo_alpha >= 0:
        raise invalid_field("rpo_alpha", rpo_alpha, "a number >= 0")
    if kind in REFERENCE_FREE:
        chosen = policy.chosen / policy.chosen_tokens
        rejected = policy.rejected / policy.rejected_tokens
        losses = -_log_sigmoid(beta * (chosen - rejected) - gamma)
        chosen_reward, rejected_reward = beta * chosen, beta * rejected
    else:
        if reference is None:
            raise InvalidArgument(f"loss: {kind!r} needs the reference model's log-probabilities", param="loss")
        chosen = policy.chosen - reference.chosen
        rejected = policy.rejected - reference.rejected
        if kind == "sigmoid":
            losses = -_log_sigmoid(beta * (chosen - rejected))
        else:
            h = chosen / policy.chosen_tokens - rejected / policy.rejected_tokens
            losses = (h - 1.0 / (2.0 * beta)) ** 2
        chosen_reward, rejected_reward = beta * chosen, beta * rejected
    if rpo_alpha > 0:
        losses = losses - rpo_alpha * policy.chosen / policy.chosen_tokens
    w = mx.ones_like(losses) if weights is None else weights
    total = w.sum()
    return PreferenceStats(
        loss=(losses * w).sum() / total,
        chosen_logp=mx.stop_gradient(policy.chosen.mean()),
        rejected_logp=mx.stop_gradient(policy.rejected.mean()),
        chosen_reward=mx.stop_gradient(chosen_reward.mean()),
        rejected_reward=mx.stop_gradient(rejected_reward.mean()),
        margin=mx.stop_gradient((chosen_reward - rejected_reward).mean()),
        accuracy=mx.stop_gradient((chosen_reward > rejected_reward).astype(mx.float32).mean()),
    )


def _log_sigmoid(x: mx.array) -> mx.array:
    # -softplus(-x), stable for large |x|
    return -mx.logaddexp(mx.zeros_like(x), -x)
