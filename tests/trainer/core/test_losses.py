"""The spec's required evidence (§3) and masking: `weighted` moves the gradient with w and H, `additive` does not
(only the logged loss moves), equal weights make `weighted` identical to `none`, padding never counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mlx.core as mx
import numpy as np
import pytest
from mlx import nn
from mlx.utils import tree_flatten

from services.trainer.core.config import TrainSettings
from services.trainer.core.data import Batch
from services.trainer.core.losses import batch_loss
from services.trainer.core.trainer import Trainer
from shared.schemas.fine_tuning import DistrustSpec

Settings = Callable[..., TrainSettings]


def grads_of(trainer: Trainer) -> tuple[float, float, dict[str, np.ndarray]]:
    loss, ce, grads = trainer.step_gradients(0)
    return loss, ce, {k: np.array(v) for k, v in grads.items()}


def max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def max_abs(a: dict[str, np.ndarray]) -> float:
    return max(float(np.max(np.abs(v))) for v in a.values())


def randomise_adapters(trainer: Trainer, seed: int = 1) -> None:
    """lora_b starts at zero (so d/d lora_a is 0): give every adapter weight a value so all gradients live."""
    state = np.random.default_rng(seed)
    weights = [
        (k, mx.array(state.normal(0, 0.05, v.shape).astype(np.float32)))
        for k, v in tree_flatten(trainer.model.trainable_parameters())
    ]
    trainer.model.load_weights(weights, strict=False)


def changed(records: list[dict[str, Any]], key: str, fn: Callable[[float], float]) -> list[dict[str, Any]]:
    return [{**r, key: fn(r[key])} for r in records]


@pytest.fixture
def data(records: Callable[..., list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return records(8, seed=5)


def test_weighted_gradient_changes_with_w_or_h_alone(settings_for: Settings, data: list[dict[str, Any]]) -> None:
    weighted = DistrustSpec(mode="weighted")
    base = grads_of(Trainer(settings_for(data, distrust=weighted, batch_size=4)))
    by_w = grads_of(
        Trainer(
            settings_for(changed(data, "auth_weight", lambda w: round(w * 0.5, 3)), distrust=weighted, batch_size=4)
        )
    )
    by_h = grads_of(
        Trainer(settings_for(changed(data, "prov_entropy", lambda h: h + 1.5), distrust=weighted, batch_size=4))
    )
    scale = max_abs(base[2])
    assert scale > 0
    assert max_diff(base[2], by_w[2]) > 1e-3 * scale
    assert max_diff(base[2], by_h[2]) > 1e-3 * scale
    assert base[0] != pytest.approx(by_w[0]) and base[0] != pytest.approx(by_h[0])
    assert base[1] == pytest.approx(by_w[1], rel=1e-6)  # the plain CE of the same tokens does not move


def test_additive_gradient_is_unchanged_while_the_logged_loss_moves(
    settings_for: Settings, data: list[dict[str, Any]]
) -> None:
    additive = DistrustSpec(mode="additive", lambda_=0.6)
    base = grads_of(Trainer(settings_for(data, distrust=additive, batch_size=4)))
    by_w = grads_of(
        Trainer(
            settings_for(changed(data, "auth_weight", lambda w: round(w * 0.5, 3)), distrust=additive, batch_size=4)
        )
    )
    by_h = grads_of(
        Trainer(settings_for(changed(data, "prov_entropy", lambda h: h + 1.5), distrust=additive, batch_size=4))
    )
    for other in (by_w, by_h):
        assert max_diff(base[2], other[2]) == 0.0  # identical: the λ·L term has no gradient
        assert other[0] != pytest.approx(base[0], rel=1e-3)  # ...but the logged loss changes
        assert other[1] == pytest.approx(base[1], rel=1e-7)
    none = grads_of(Trainer(settings_for(data, distrust=DistrustSpec(mode="none"), batch_size=4)))
    assert max_diff(base[2], none[2]) == 0.0  # additive trains exactly like plain CE


def test_additive_loss_is_ce_plus_lambda_mean_l(settings_for: Settings, data: list[dict[str, Any]]) -> None:
    trainer = Trainer(settings_for(data, distrust=DistrustSpec(mode="additive", lambda_=0.3), batch_size=4))
    loss, ce, _ = trainer.step_gradients(0)
    chosen = [i for b in trainer.order.batches(0)[0] for i in b.indices]
    assert loss == pytest.approx(ce + 0.3 * float(np.mean(trainer.distrust[chosen])), rel=1e-5)


def test_equal_weights_make_weighted_identical_to_none(settings_for: Settings, data: list[dict[str, Any]]) -> None:
    same = [{**r, "auth_weight": 0.4, "prov_entropy": 3.0} for r in data]
    weighted = Trainer(settings_for(same, distrust=DistrustSpec(mode="weighted"), batch_size=4))
    assert np.all(weighted.omega == 1.0)
    none = Trainer(settings_for(same, distrust=DistrustSpec(mode="none"), batch_size=4))
    for trainer in (weighted, none):
        randomise_adapters(trainer)
    w_loss, w_ce, w_grads = grads_of(weighted)
    n_loss, _, n_grads = grads_of(none)
    assert w_loss == pytest.approx(n_loss, rel=1e-6) and w_loss == pytest.approx(w_ce, rel=1e-6)
    assert max_diff(w_grads, n_grads) <= 1e-6 * max_abs(n_grads)


def _loss_and_grads(model: nn.Module, batch: Batch) -> tuple[float, dict[str, np.ndarray]]:
    fn = nn.value_and_grad(model, lambda m: batch_loss(m, batch)[0])
    loss, grads = fn(model)
    return loss.item(), {k: np.array(v) for k, v in tree_flatten(grads)}


def test_padding_does_not_change_loss_or_gradients(settings_for: Settings, data: list[dict[str, Any]]) -> None:
    trainer = Trainer(settings_for(data, distrust=DistrustSpec(mode="none"), batch_size=2))
    randomise_adapters(trainer)
    examples = sorted(trainer.examples, key=lambda e: len(e.tokens))
    short, long = examples[0], examples[-1]
    assert len(long.tokens) > len(short.tokens) + 3

    def batch_of(rows: list[Any], length: int, pad: int) -> Batch:
        tokens = np.full((len(rows), length), pad, dtype=np.int32)
        mask = np.zeros((len(rows), length - 1), dtype=np.float32)
        for j, e in enumerate(rows):
            tokens[j, : len(e.tokens)] = e.tokens
            mask[j, : len(e.mask)] = e.mask
        return Batch(tokens=tokens, mask=mask, weights=np.ones(len(rows), np.float32), indices=tuple(range(len(rows))))

    alone = _loss_and_grads(trainer.model, batch_of([short], len(short.tokens), 0))
    for pad in (0, 7, 123):  # whatever the padding ids are
        padded = _loss_and_grads(trainer.model, batch_of([short], len(long.tokens) + 5, pad))
        assert padded[0] == pytest.approx(alone[0], rel=1e-6)
        assert max_diff(alone[1], padded[1]) <= 1e-5 * max_abs(alone[1])
    # next to a longer example: the pair's loss is the token-weighted mean of the two alone
    long_alone = _loss_and_grads(trainer.model, batch_of([long], len(long.tokens), 0))
    pair = _loss_and_grads(trainer.model, batch_of([short, long], len(long.tokens), 9))
    n_s, n_l = short.n_loss_tokens, long.n_loss_tokens
    assert pair[0] == pytest.approx((alone[0] * n_s + long_alone[0] * n_l) / (n_s + n_l), rel=1e-5)
    expected = {k: (alone[1][k] * n_s + long_alone[1][k] * n_l) / (n_s + n_l) for k in alone[1]}
    assert max_diff(pair[1], expected) <= 1e-5 * max_abs(expected)
