"""The LoRA training loop: seeded data order, real gradient accumulation, compiled step, exact resume.

Data order: epoch e uses the permutation `epoch_order(seed, e)`; optimizer step k of the epoch takes the
examples at positions [k·B·A, (k+1)·B·A) of it (B = batch_size, A = gradient_accumulation_steps; the last step of an
epoch may be shorter, no example is dropped). Those examples are grouped by length into A micro-batches of up
to B examples (less padding; the step's loss is a sum over examples, so the grouping does not change it).

Accumulation: each micro-batch's loss is divided by N, the loss-token count of the whole step (see
`losses.py`); gradients are summed over the micro-batches, clipped by global norm, and applied once. So
batch_size 2 × accumulation 2 gives the same update as batch_size 4 × accumulation 1, and the loss of a step is
Σ_i ω_i Σ_t m_it ce_it / Σ_i Σ_t m_it over all of its examples.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import numpy as np
from mlx.nn.layers.base import Module
from mlx.nn.utils import value_and_grad
from mlx.utils import tree_flatten, tree_map

from services.trainer.core import checkpoint as ckpt
from services.trainer.core.config import TrainSettings
from services.trainer.core.data import Batch, Example, epoch_order, fingerprint, load_examples, make_batch
from services.trainer.core.distrust import training_weights, weight_summary
from services.trainer.core.lora import adapter_config, adapter_weights, apply_lora, save_adapter
from services.trainer.core.losses import additive_share, objective, token_cross_entropy
from services.trainer.core.schedule import build_optimizer, clip_gradients, flatten, learning_rate_at
from services.trainer.core.tokenization import Tokenization
from shared.adapter_format import AdapterConfig
from shared.errors import InvalidArgument, invalid_field


@dataclass(frozen=True)
class StepReport:
    """What one optimizer step did."""

    step: int  # 1-based optimizer step just completed
    total_steps: int
    epoch: int  # 1-based epoch the step belongs to
    train_loss: float  # the optimised loss (weighted / additive / none) of the step's examples
    ce: float  # plain token CE of the same tokens
    learning_rate: float  # the rate used by this step's update
    tokens: int  # loss tokens (mask sum) in this step
    tokens_per_second: float  # loss tokens / wall time of the step (evaluation excluded)
    peak_memory_gb: float  # mx.get_peak_memory() / 1e9
    val_loss: float | None  # set on eval steps
    grad_norm: float = 0.0  # global gradient norm before clipping


def _scalar(value: mx.array) -> float:
    """A one-element real array as a Python float."""
    item = value.item()
    if isinstance(item, complex):
        raise TypeError(f"expected a real scalar, got {item!r}")
    return float(item)


def _require(path: Path | None, name: str, *, directory: bool) -> None:
    if path is None:
        return
    ok = path.is_dir() if directory else path.is_file()
    if not ok:
        raise invalid_field(name, str(path), "an existing local " + ("folder" if directory else "file"))


class Trainer:
    """One LoRA training run on one model and dataset; see the module docstring for order and accumulation."""

    def __init__(self, settings: TrainSettings) -> None:
        settings.validate()
        self.settings = settings
        self.hp = hp = settings.hyperparameters
        _require(settings.model_path, "model_path", directory=True)
        _require(settings.train_path, "training_file", directory=False)
        _require(settings.val_path, "validation_file", directory=False)
        random.seed(settings.seed)
        mx.random.seed(settings.seed)
        try:  # lazy: the data is checked before the weights are read
            model, tokenizer = mlx_lm.load(str(settings.model_path), lazy=True)[:2]
        except Exception as exc:
            raise InvalidArgument(
                f"model_path: cannot load a model from {settings.model_path} ({type(exc).__name__}: {exc})",
                param="model_path",
            ) from exc
        self.model: Module = model
        self.tokenizer = tokenizer
        self.tokenization = Tokenization(
            tokenizer, max_seq_length=hp.max_seq_length, completion_only=settings.completion_only
        )
        d = settings.distrust
        self.examples, self.skipped_lines = load_examples(
            settings.train_path, self.tokenization, field="training_file", require_scores=d.needs_scores
        )
        self.val_examples: list[Example] = []
        if settings.val_path is not None:
            self.val_examples, _ = load_examples(
                settings.val_path, self.tokenization, field="validation_file", require_scores=False
            )
        self.weights = training_weights(
            [e.auth_weight for e in self.examples], [e.prov_entropy for e in self.examples], d
        )
        self.factors = self.weights.factors

        model.set_dtype(mx.float32)
        self.lora_layers = apply_lora(model, settings.lora)
        mx.eval(model.parameters())  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated

        per_step = hp.batch_size * hp.gradient_accumulation_steps
        self.steps_per_epoch = math.ceil(len(self.examples) / per_step)
        total = hp.n_epochs * self.steps_per_epoch
        self.total_steps: int = min(total, hp.max_steps) if hp.max_steps else total
        self.step: int = 0
        self.optimizer = build_optimizer(
            learning_rate=hp.learning_rate,
            warmup=hp.warmup_steps,
            total=self.total_steps,
            weight_decay=hp.weight_decay,
        )
        self.optimizer.init(model.trainable_parameters())  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
        self._data_fingerprint = fingerprint(self.examples, self.omega)
        self._step_fn: Callable[..., Any] | None = None
        self._order: tuple[int, np.ndarray] = (-1, np.zeros(0, dtype=np.int64))
        self._loss_and_grad = value_and_grad(model, objective)

    # ----------------------------------------------------------------------------------------- weights
    @property
    def omega(self) -> np.ndarray:
        """ω of every training example (normalised over the training set, clipped)."""
        return self.weights.omega

    @property
    def distrust(self) -> np.ndarray:
        """L = α·c² of every training example (zeros in mode `none`)."""
        return self.weights.distrust

    def weight_summary(self) -> dict[str, Any]:  # open: an event's free-form data
        """Statistics of the effective example weights, the number of examples and the lines left out.

        Per band and overall count / min / mean / max (see `distrust.weight_summary`); lines are left out when
        no loss token remains.
        """
        summary = weight_summary(self.weights, [e.auth_weight for e in self.examples], self.settings.distrust)
        summary.update(examples=len(self.examples), skipped_lines=list(self.skipped_lines))
        return summary

    # ----------------------------------------------------------------------------------------- data
    @property
    def position(self) -> tuple[int, int]:
        """(epoch, index) of the next example to train on: 0-based epoch, position in its order."""
        return self._position_of(self.step)

    def _position_of(self, step: int) -> tuple[int, int]:
        epoch, k = divmod(step, self.steps_per_epoch)
        return epoch, k * self.hp.batch_size * self.hp.gradient_accumulation_steps

    def step_batches(self, step: int) -> tuple[list[Batch], list[float]]:
        """The micro-batches of optimizer step `step` (0-based) and their additive-loss shares."""
        s = self.settings
        per_step = self.hp.batch_size * self.hp.gradient_accumulation_steps
        epoch, k = divmod(step, self.steps_per_epoch)
        if self._order[0] != epoch:
            self._order = (epoch, epoch_order(s.seed, epoch, len(self.examples)))
        span = self._order[1][k * per_step : (k + 1) * per_step]
        chosen = sorted(span.tolist(), key=lambda i: len(self.examples[i].tokens))
        batches = [
            make_batch(
                self.examples,
                chosen[j : j + self.hp.batch_size],
                self.factors,
                pad_id=self.tokenization.pad_id,
                max_seq_length=self.hp.max_seq_length,
            )
            for j in range(0, len(chosen), self.hp.batch_size)
        ]
        extras = [additive_share(s.distrust.mode, s.distrust.lambda_, self.distrust, b, len(chosen)) for b in batches]
        return batches, extras

    # ----------------------------------------------------------------------------------------- step
    def _compiled_step(self) -> Callable[..., Any]:
        if self._step_fn is not None:
            return self._step_fn
        model, optimizer, max_norm = self.model, self.optimizer, self.hp.max_grad_norm
        loss_and_grad = self._loss_and_grad
        state = [model.state, optimizer.state, mx.random.state]

        @partial(mx.compile, inputs=state, outputs=state)
        def step(
            tokens: mx.array,
            mask: mx.array,
            weights: mx.array,
            extra: mx.array,
            inv_tokens: mx.array,
            prev_grad: Any,  # the gradient tree so far, or None
            do_update: bool,
        ) -> tuple[mx.array, mx.array, mx.array, Any]:
            (loss, ce), grad = loss_and_grad(model, tokens, mask, weights, extra, inv_tokens)
            if prev_grad is not None:
                grad = tree_map(lambda a, b: a + b, grad, prev_grad)
            if do_update:
                grad, norm = clip_gradients(grad, max_norm)
                optimizer.update(model, grad)
                return loss, ce, norm, None
            return loss, ce, mx.array(0.0), grad

        self._step_fn = step
        self._state = state
        return step

    def run(self, *, should_stop: Callable[[], bool] = lambda: False) -> Iterator[StepReport]:
        """Train from `self.step` to `total_steps`, yielding after each optimizer step.

        `should_stop()` is checked before each step; when it says True the loop returns without a partial step.
        """
        step_fn = self._compiled_step()
        self.model.train()
        while self.step < self.total_steps:
            if should_stop():
                return
            tic = time.perf_counter()
            batches, extras = self.step_batches(self.step)
            n_tokens = sum(b.n_loss_tokens for b in batches)
            inv = mx.array(1.0 / n_tokens, dtype=mx.float32)
            grad = None
            loss_sum = mx.array(0.0)
            ce_sum = mx.array(0.0)
            norm = mx.array(0.0)
            for j, (batch, extra) in enumerate(zip(batches, extras, strict=True)):
                last = j == len(batches) - 1
                loss, ce, norm, grad = step_fn(
                    mx.array(batch.tokens),
                    mx.array(batch.mask),
                    mx.array(batch.weights),
                    mx.array(extra, dtype=mx.float32),
                    inv,
                    grad,
                    last,
                )
                loss_sum = loss_sum + loss
                ce_sum = ce_sum + ce
                mx.eval(self._state, loss_sum, ce_sum, norm, grad)
            lr = learning_rate_at(
                self.step, peak=self.hp.learning_rate, warmup=self.hp.warmup_steps, total=self.total_steps
            )
            epoch = self.step // self.steps_per_epoch + 1
            self.step += 1
            elapsed = time.perf_counter() - tic
            val_loss = None
            if self.val_examples and (
                (self.hp.eval_every_steps and self.step % self.hp.eval_every_steps == 0)
                or self.step == self.total_steps
            ):
                val_loss = self.evaluate()
            yield StepReport(
                step=self.step,
                total_steps=self.total_steps,
                epoch=epoch,
                train_loss=_scalar(loss_sum),
                ce=_scalar(ce_sum),
                learning_rate=lr,
                tokens=n_tokens,
                tokens_per_second=n_tokens / elapsed if elapsed > 0 else 0.0,
                peak_memory_gb=mx.get_peak_memory() / 1e9,
                val_loss=val_loss,
                grad_norm=_scalar(norm),
            )

    def step_gradients(self, step: int | None = None) -> tuple[float, float, dict[str, mx.array]]:
        """(loss, ce, flattened summed gradient) of optimizer step `step` (default: the next one).

        Computed exactly as training does but without clipping or updating anything. For tests and diagnostics.
        """
        batches, extras = self.step_batches(self.step if step is None else step)
        inv = mx.array(1.0 / sum(b.n_loss_tokens for b in batches), dtype=mx.float32)
        total: dict[str, mx.array] = {}
        loss_sum, ce_sum = 0.0, 0.0
        for batch, extra in zip(batches, extras, strict=True):
            (loss, ce), grad = self._loss_and_grad(
                self.model,
                mx.array(batch.tokens),
                mx.array(batch.mask),
                mx.array(batch.weights),
                mx.array(extra, dtype=mx.float32),
                inv,
            )
            for name, g in flatten(grad):
                total[name] = total[name] + g if name in total else g
            mx.eval(loss, ce, total)
            loss_sum += _scalar(loss)
            ce_sum += _scalar(ce)
        return loss_sum, ce_sum, total

    # ----------------------------------------------------------------------------------------- eval
    def evaluate(self) -> float | None:
        """Mean token CE (masked, completion-only as in training) over the validation set; None without one."""
        if not self.val_examples:
            return None
        was_training = self.model.training
        self.model.eval()
        order = sorted(range(len(self.val_examples)), key=lambda i: len(self.val_examples[i].tokens))
        ones = np.ones(len(self.val_examples), dtype=np.float32)
        total = mx.array(0.0)
        count = 0
        for j in range(0, len(order), self.hp.batch_size):
            batch = make_batch(
                self.val_examples,
                order[j : j + self.hp.batch_size],
                ones,
                pad_id=self.tokenization.pad_id,
                max_seq_length=self.hp.max_seq_length,
            )
            tokens = mx.array(batch.tokens)
            ce = token_cross_entropy(self.model(tokens[:, :-1]), tokens[:, 1:]) * mx.array(batch.mask)
            total = total + ce.sum()
            count += batch.n_loss_tokens
            mx.eval(total)
        self.model.train(was_training)
        return _scalar(total) / count

    # ----------------------------------------------------------------------------------------- files
    def _adapter_config(self) -> AdapterConfig:
        return adapter_config(
            self.settings.lora,
            self.lora_layers,
            base_model=str(self.settings.model_path),
            distrust=self.settings.distrust,
            trained_steps=self.step,
        )

    def save_adapter(self, directory: Path) -> None:
        """The adapter in mlx-lm's layout, loadable by mlx_lm.load(base, adapter_path=directory)."""
        save_adapter(self.model, Path(directory), self._adapter_config())

    def save_checkpoint(self, directory: Path) -> None:
        """Adapter, optimizer state, RNG states, data position and step, with a versioned manifest."""
        epoch, index = self.position
        state = ckpt.TrainerState(
            step=self.step,
            total_steps=self.total_steps,
            epoch=epoch,
            index=index,
            rng=ckpt.rng_state(),
            settings=self.settings.continuation_fingerprint(),
            data_fingerprint=self._data_fingerprint,
        )
        ckpt.write_checkpoint(
            Path(directory),
            ckpt.Checkpoint(
                state=state,
                adapter=adapter_weights(self.model),
                adapter_config=self._adapter_config(),
                optimizer=dict(tree_flatten(self.optimizer.state)),
            ),
        )

    def restore(self, directory: Path) -> None:
        """Continue exactly from a checkpoint of the same run.

        Raises FailedPrecondition (and changes nothing) when the checkpoint is missing, corrupt, or from
        different settings or data.
        """
        directory = Path(directory)
        loaded = ckpt.read_checkpoint(directory)
        ckpt.check_resumable(
            directory,
            loaded,
            settings=self.settings.continuation_fingerprint(),
            data_fingerprint=self._data_fingerprint,
            total_steps=self.total_steps,
            position=self._position_of(loaded.state.step),
            adapter=adapter_weights(self.model),
            optimizer=dict(tree_flatten(self.optimizer.state)),
        )
        self.model.load_weights(list(loaded.adapter.items()), strict=False)
        for name, value in loaded.optimizer.items():
            ckpt.assign_leaf(self.optimizer.state, name, value)  # in place: the compiled step holds these
        ckpt.set_rng_state(loaded.state.rng)
        self.step = loaded.state.step
        mx.eval(self.model.parameters(), self.optimizer.state)  # type: ignore[no-untyped-call]  # mlx's Module is unannotated
