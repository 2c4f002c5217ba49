"""A weighted-distrust LoRA run on SmolLM2-135M-Instruct lowers its validation loss within a few steps."""

from __future__ import annotations

import pytest

from tests.real.conftest import STEPS, TrainedRun

pytestmark = [pytest.mark.slow, pytest.mark.real_model]


def test_weighted_lora_lowers_validation_loss(trained: TrainedRun) -> None:
    assert trained.trainer.step == STEPS
    assert trained.trainer.settings.distrust.mode == "weighted"
    # Weighted mode really weighs: the scores spread the examples' weights.
    assert float(trained.trainer.omega.max()) > float(trained.trainer.omega.min())
    assert trained.val_after < 0.9 * trained.val_before, (trained.val_before, trained.val_after)
