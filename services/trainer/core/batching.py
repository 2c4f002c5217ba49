"""Which examples each optimizer step trains on, grouped into micro-batches.

Data order: epoch e uses the permutation `epoch_order(seed, e)`; optimizer step k of the epoch takes the
examples at positions [k·B·A, (k+1)·B·A) of it (B = batch_size, A = gradient_accumulation_steps; the last step of an
epoch may be shorter, no example is dropped). Those examples are grouped by length into A micro-batches of up
to B examples (less padding; the step's loss is a sum over examples, so the grouping does not change it).
"""

from __future__ import annotations

import math

import numpy as np

from services.trainer.core.config import TrainSettings
from services.trainer.core.data import Batch, Example, epoch_order, make_batch
from services.trainer.core.distrust import TrainingWeights
from services.trainer.core.losses import additive_share


class DataOrder:
    """The seeded order of one run's training examples, step by step; see the module docstring."""

    def __init__(
        self, examples: list[Example], weights: TrainingWeights, settings: TrainSettings, *, pad_id: int
    ) -> None:
        self.examples = examples
        self.weights = weights
        self.settings = settings
        self.pad_id = pad_id
        hp = settings.hyperparameters
        self.batch_size = hp.batch_size
        self.per_step = hp.batch_size * hp.gradient_accumulation_steps
        self.steps_per_epoch = math.ceil(len(examples) / self.per_step)
        self._order: tuple[int, np.ndarray] = (-1, np.zeros(0, dtype=np.int64))

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, index) where optimizer step `step` (0-based) starts: 0-based epoch, position in its order."""
        epoch, k = divmod(step, self.steps_per_epoch)
        return epoch, k * self.per_step

    def batches(self, step: int) -> tuple[list[Batch], list[float]]:
        """The micro-batches of optimizer step `step` (0-based) and their additive-loss shares."""
        s = self.settings
        epoch, k = divmod(step, self.steps_per_epoch)
        if self._order[0] != epoch:
            self._order = (epoch, epoch_order(s.seed, epoch, len(self.examples)))
        span = self._order[1][k * self.per_step : (k + 1) * self.per_step]
        chosen = sorted(span.tolist(), key=lambda i: len(self.examples[i].tokens))
        batches = [
            make_batch(
                self.examples,
                chosen[j : j + self.batch_size],
                self.weights.factors,
                pad_id=self.pad_id,
                max_seq_length=s.hyperparameters.max_seq_length,
            )
            for j in range(0, len(chosen), self.batch_size)
        ]
        distrust = self.weights.distrust
        extras = [additive_share(s.distrust.mode, s.distrust.lambda_, distrust, b, len(chosen)) for b in batches]
        return batches, extras
