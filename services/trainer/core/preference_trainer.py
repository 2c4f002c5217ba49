"""Preference training (DPO, IPO, SimPO) with LoRA: the pairs' seeded order, steps, reports, evaluation, checkpoints.

Each optimizer step takes `batch_size` pairs of the epoch's permutation (`epoch_order(seed, epoch)`), scores the
chosen and rejected answers in one forward pass, and compares them with the reference scores taken before the
first step (see `preference.py`). A checkpoint holds what a supervised one does plus those reference scores, so a
resumed run continues exactly.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np
from mlx.nn.layers.base import Module
from mlx.nn.utils import value_and_grad
from mlx.utils import tree_map

from services.trainer.core import resume
from services.trainer.core.config import TrainSettings
from services.trainer.core.data import epoch_order, lines_text
from services.trainer.core.lora import apply_lora, load_start_adapter
from services.trainer.core.losses import scalar
from services.trainer.core.pairs import PairBatch, PreferencePair, load_pairs, make_pair_batch
from services.trainer.core.precision import cast_adapters, prepare_model
from services.trainer.core.preference import STAT_NAMES, pair_objective, reference_scores
from services.trainer.core.run_files import RunFiles
from services.trainer.core.safeguards import check_finite
from services.trainer.core.schedule import build_optimizer, clip_gradients, learning_rate_at
from services.trainer.core.tokenization import Tokenization
from shared.errors import FailedPrecondition, InvalidArgument
from shared.schemas.fine_tuning import PreferenceSpec

REFERENCE_FILE = "reference.npz"


@dataclass(frozen=True)
class PreferenceReport:
    """What one optimizer step reports."""

    step: int
    total_steps: int
    epoch: int
    train_loss: float  # the preference loss of the step's pairs
    reward_margin: float  # mean chosen reward − rejected reward
    reward_accuracy: float  # share of pairs whose chosen answer has the larger reward
    chosen_logp: float  # mean summed log-probability of the chosen answers
    rejected_logp: float
    learning_rate: float
    tokens: int  # answer tokens scored, both sides
    tokens_per_second: float
    grad_norm: float
    peak_memory_gb: float
    val_loss: float | None = None  # set on eval steps, with a validation file
    val_reward_accuracy: float | None = None

    def describe(self) -> str:
        """The step as an event's message."""
        text = (
            f"Step {self.step}/{self.total_steps}: preference loss={self.train_loss:.4f}, "
            f"reward margin={self.reward_margin:.4f}, reward accuracy={self.reward_accuracy:.2f}"
        )
        if self.val_reward_accuracy is not None:
            text += f", validation reward accuracy={self.val_reward_accuracy:.2f}"
        return text


class PairOrder:
    """Which pairs optimizer step k trains on, in micro-batches of up to B pairs.

    Positions [k·B·A, (k+1)·B·A) of its epoch's seeded permutation (B = batch_size, A = accumulation steps).
    """

    def __init__(self, n_pairs: int, batch_size: int, accumulation: int, seed: int) -> None:
        self.n_pairs = n_pairs
        self.batch_size = batch_size
        self.per_step = batch_size * accumulation
        self.seed = seed
        self.steps_per_epoch = math.ceil(n_pairs / self.per_step)

    def position(self, step: int) -> tuple[int, int]:
        epoch, k = divmod(step, self.steps_per_epoch)
        return epoch, k * self.per_step

    def micro_batches(self, step: int) -> list[list[int]]:
        epoch, start = self.position(step)
        span = [int(i) for i in epoch_order(self.seed, epoch, self.n_pairs)[start : start + self.per_step]]
        return [span[j : j + self.batch_size] for j in range(0, len(span), self.batch_size)]


def pair_weights(pairs: list[PreferencePair], *, by_margin: bool) -> np.ndarray:
    """Each pair's loss weight: 1, or its provenance margin normalised to mean 1 (every pair must have one)."""
    if not by_margin:
        return np.ones(len(pairs), dtype=np.float32)
    missing = [p.line for p in pairs if p.margin is None]
    if missing:
        raise InvalidArgument(
            f"training_file: {lines_text(missing)} without a provenance margin (metadata.margin), which "
            "preference.weight_by_margin needs; build the pairs with the provenance rule or turn it off",
            param="training_file",
        )
    margins = np.array([p.margin for p in pairs], dtype=np.float32)
    return margins / margins.mean() if margins.mean() > 0 else np.ones(len(pairs), dtype=np.float32)


class PreferenceTrainer(RunFiles):
    """One preference run on one model and pair file."""

    order: PairOrder

    def __init__(self, settings: TrainSettings, spec: PreferenceSpec) -> None:
        settings.validate()
        hp = settings.hyperparameters
        self.settings, self.spec, self.hp = settings, spec.resolved(), hp
        random.seed(settings.seed)
        mx.random.seed(settings.seed)
        try:
            model, tokenizer = mlx_lm.load(str(settings.model_path), lazy=True)[:2]
        except Exception as exc:
            raise InvalidArgument(f"model_path: cannot load a model ({exc})", param="model_path") from exc
        self.model: Module = model
        self.tokenization = Tokenization(tokenizer, max_seq_length=hp.max_seq_length, completion_only=True)
        self.pairs, self.skipped_lines = load_pairs(settings.train_path, self.tokenization, field="training_file")
        self.weights = pair_weights(self.pairs, by_margin=spec.weight_by_margin)
        self.val_pairs: list[PreferencePair] = []
        if settings.val_path is not None:
            self.val_pairs, _ = load_pairs(settings.val_path, self.tokenization, field="validation_file")
        self.dtype = prepare_model(model, hp.precision, hp.quantize_base)
        self.lora_layers = apply_lora(model, settings.lora)
        if settings.adapter_path is not None:
            load_start_adapter(model, settings.adapter_path)
        cast_adapters(model, self.dtype)
        mx.eval(model.parameters())  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
        self.order = PairOrder(len(self.pairs), hp.batch_size, hp.gradient_accumulation_steps, settings.seed)
        self.steps_per_epoch = self.order.steps_per_epoch
        total = hp.n_epochs * self.steps_per_epoch
        self.total_steps: int = min(total, hp.max_steps) if hp.max_steps else total
        self.step = 0
        self.optimizer = build_optimizer(
            learning_rate=hp.learning_rate, warmup=hp.warmup_steps, total=self.total_steps, weight_decay=hp.weight_decay
        )
        self.optimizer.init(model.trainable_parameters())  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
        self._objective = pair_objective(
            spec.loss, beta=self.spec.beta_value, gamma=spec.gamma, rpo_alpha=spec.rpo_alpha
        )
        self._loss_and_grad = value_and_grad(model, self._objective)
        self._run_key = resume.RunKey(settings, self._fingerprint(), self.total_steps)
        self.reference: np.ndarray | None = None
        self.val_reference: np.ndarray | None = None

    def _fingerprint(self) -> str:
        digest = hashlib.sha256(self.spec.model_dump_json().encode() + self.weights.tobytes())
        for pair in self.pairs:
            for side in (pair.chosen, pair.rejected):
                digest.update(np.int64(len(side.tokens)).tobytes() + side.tokens.tobytes() + side.mask.tobytes())
        return digest.hexdigest()

    def _batch(self, pairs: list[PreferencePair], indices: list[int]) -> PairBatch:
        weights = self.weights if pairs is self.pairs else np.ones(len(pairs), dtype=np.float32)
        return make_pair_batch(
            pairs, indices, weights, pad_id=self.tokenization.pad_id, max_seq_length=self.hp.max_seq_length
        )

    def _all(self, pairs: list[PreferencePair]) -> Iterator[PairBatch]:
        size = self.hp.batch_size
        for start in range(0, len(pairs), size):
            yield self._batch(pairs, list(range(start, min(start + size, len(pairs)))))

    def _take_reference(self) -> None:
        """The starting model's scores of every pair, before the first step changes it."""
        if self.reference is None:
            self.model.eval()
            self.reference = reference_scores(self.model, self._all(self.pairs), len(self.pairs))
            if self.val_pairs:
                self.val_reference = reference_scores(self.model, self._all(self.val_pairs), len(self.val_pairs))

    def run(self, *, should_stop: Callable[[], bool] = lambda: False) -> Iterator[PreferenceReport]:
        """Train from `self.step` to `total_steps`, yielding after each optimizer step (see Trainer.run)."""
        self._take_reference()
        assert self.reference is not None
        self.model.train()
        while self.step < self.total_steps:
            if should_stop():
                return
            tic = time.perf_counter()
            micro = self.order.micro_batches(self.step)
            n_pairs = sum(len(indices) for indices in micro)
            sums, grad, tokens = [mx.array(0.0)] * (1 + len(STAT_NAMES)), None, 0
            for indices in micro:  # the step's loss and stats are means over all of its pairs
                share = len(indices) / n_pairs
                batch = self._batch(self.pairs, indices)
                reference = mx.array(self.reference[indices])
                args = (mx.array(batch.tokens), mx.array(batch.mask), mx.array(batch.weights), reference)
                parts, part_grad = self._loss_and_grad(self.model, *args)
                part_grad = tree_map(lambda g, s=share: g * s, part_grad)
                grad = part_grad if grad is None else tree_map(lambda a, b: a + b, grad, part_grad)
                sums = [total + share * part for total, part in zip(sums, parts, strict=True)]
                tokens += int(batch.mask.sum())
                mx.eval(sums, grad)
            grad, norm = clip_gradients(grad, self.hp.max_grad_norm)
            self.optimizer.update(self.model, grad)
            mx.eval(self.model.parameters(), self.optimizer.state, norm)  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
            lr = learning_rate_at(
                self.step, peak=self.hp.learning_rate, warmup=self.hp.warmup_steps, total=self.total_steps
            )
            loss, *stats = (scalar(value) for value in sums)
            check_finite(self.step + 1, loss, scalar(norm), lr)
            epoch = self.step // self.steps_per_epoch + 1
            self.step += 1
            elapsed = time.perf_counter() - tic
            due = self.hp.eval_every_steps and self.step % self.hp.eval_every_steps == 0
            val_loss, val_accuracy = self.evaluate() if due or self.step == self.total_steps else (None, None)
            yield PreferenceReport(
                step=self.step,
                total_steps=self.total_steps,
                epoch=epoch,
                train_loss=loss,
                **dict(zip(STAT_NAMES, stats, strict=True)),
                learning_rate=lr,
                tokens=tokens,
                tokens_per_second=tokens / elapsed if elapsed > 0 else 0.0,
                grad_norm=scalar(norm),
                peak_memory_gb=mx.get_peak_memory() / 1e9,
                val_loss=val_loss,
                val_reward_accuracy=val_accuracy,
            )

    def evaluate(self) -> tuple[float, float] | tuple[None, None]:
        """(mean loss, share of pairs whose chosen answer the model rewards more) over the validation pairs."""
        if not self.val_pairs:
            return None, None
        self._take_reference()
        assert self.val_reference is not None
        loss, right = 0.0, 0.0
        self.model.eval()
        for batch in self._all(self.val_pairs):
            reference = mx.array(self.val_reference[list(batch.indices)])
            part, _, accuracy, *_ = self._objective(
                self.model, mx.array(batch.tokens), mx.array(batch.mask), mx.array(batch.weights), reference
            )
            loss += scalar(part) * len(batch.indices)
            right += scalar(accuracy) * len(batch.indices)
        self.model.train()
        return loss / len(self.val_pairs), right / len(self.val_pairs)

    def save_checkpoint(self, directory: Path) -> None:
        """A supervised checkpoint's state plus the reference scores."""
        self._take_reference()
        assert self.reference is not None
        super().save_checkpoint(directory)
        validation = self.val_reference if self.val_reference is not None else np.zeros((0, 2), np.float32)
        np.savez(Path(directory) / REFERENCE_FILE, train=self.reference, validation=validation)

    def restore(self, directory: Path) -> None:
        """Continue exactly from a checkpoint of the same run (FailedPrecondition, nothing changed, otherwise)."""
        path = Path(directory) / REFERENCE_FILE
        if not path.is_file():
            raise FailedPrecondition(f"checkpoint {directory}: no reference scores ({REFERENCE_FILE})")
        with np.load(path) as saved:
            reference, validation = saved["train"], saved["validation"]
        if reference.shape != (len(self.pairs), 2) or validation.shape != (len(self.val_pairs), 2):
            raise FailedPrecondition(f"checkpoint {directory}: reference scores of other pair files")
        super().restore(directory)
        self.reference, self.val_reference = reference, validation if self.val_pairs else None
