"""The LoRA training loop: one run's model, data and optimizer, stepped from the first step or a checkpoint.

Which examples each step takes, in which micro-batches: `batching.py`; one step with gradient accumulation:
`step.py`; checkpoints and exact resume: `resume.py`; the validation loss: `validation.py`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import numpy as np
from mlx.nn.layers.base import Module
from mlx.nn.utils import value_and_grad
from mlx.utils import tree_map

from services.trainer.core import distributed, resume
from services.trainer.core.batching import DataOrder
from services.trainer.core.config import TrainSettings
from services.trainer.core.data import Batch, Example, fingerprint, load_examples
from services.trainer.core.distrust import training_weights, weight_summary
from services.trainer.core.lora import apply_lora, load_start_adapter
from services.trainer.core.losses import objective, scalar
from services.trainer.core.precision import cast_adapters, checkpoint_blocks, prepare_model
from services.trainer.core.run_files import RunFiles
from services.trainer.core.safeguards import MemoryReading, check_finite, check_memory
from services.trainer.core.schedule import build_optimizer, learning_rate_at
from services.trainer.core.step import compile_apply, compile_step, summed_gradients
from services.trainer.core.tokenization import Tokenization
from services.trainer.core.validation import validation_loss
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
    active_memory_gb: float = 0.0  # mx.get_active_memory() / 1e9 after the step

    def describe(self) -> str:
        """The step as an event's message."""
        text = f"Step {self.step}/{self.total_steps}: training loss={self.train_loss:.4f}"
        return text if self.val_loss is None else f"{text}, validation loss={self.val_loss:.4f}"


def _require(path: Path | None, name: str, *, directory: bool) -> None:
    if path is None:
        return
    ok = path.is_dir() if directory else path.is_file()
    if not ok:
        raise invalid_field(name, str(path), "an existing local " + ("folder" if directory else "file"))


class Trainer(RunFiles):
    """One LoRA training run on one model and dataset; see `batching.py` and `step.py` for order and accumulation."""

    order: DataOrder

    def __init__(self, settings: TrainSettings, group: Any | None = None) -> None:
        """`group`: an `mx.distributed` group to train data-parallel in (see `distributed.py`); None: alone."""
        settings.validate()
        self.group = group if group is not None and group.size() > 1 else None
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

        self.dtype = prepare_model(model, hp.precision, hp.quantize_base)
        self.lora_layers = apply_lora(model, settings.lora)
        if settings.adapter_path is not None:
            load_start_adapter(model, settings.adapter_path)
        cast_adapters(model, self.dtype)
        if hp.gradient_checkpointing:
            checkpoint_blocks(model, self.lora_layers)
        mx.eval(model.parameters())  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated

        self.order = DataOrder(self.examples, self.weights, settings, pad_id=self.tokenization.pad_id)
        self.steps_per_epoch = self.order.steps_per_epoch
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
        self._run_key = resume.RunKey(settings, fingerprint(self.examples, self.omega), self.total_steps)
        self._step_fn: Callable[..., Any] | None = None
        self._apply_fn: Callable[[Any], mx.array] | None = None
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

    # ----------------------------------------------------------------------------------------- step
    def _compiled_step(self) -> Callable[..., Any]:
        if self._step_fn is None:
            self._step_fn, self._state = compile_step(
                self.model, self.optimizer, self._loss_and_grad, max_norm=self.hp.max_grad_norm
            )
        return self._step_fn

    def run(self, *, should_stop: Callable[[], bool] = lambda: False) -> Iterator[StepReport]:
        """Train from `self.step` to `total_steps`, yielding after each optimizer step.

        `should_stop()` is checked before each step; when it says True the loop returns without a partial step.
        Raises LossNotFinite (the step not counted) or MemoryBudgetReached (after the step): see `safeguards.py`.
        """
        self.model.train()
        while self.step < self.total_steps:
            stop = should_stop()
            if distributed.agree(stop, self.group) if self.group is not None else stop:
                return
            tic = time.perf_counter()
            batches, extras = self.order.batches(self.step)
            n_tokens = sum(b.n_loss_tokens for b in batches)
            inv = mx.array(1.0 / n_tokens, dtype=mx.float32)
            if self.group is None:
                loss_sum, ce_sum, norm = self._step_alone(batches, extras, inv)
            else:
                loss_sum, ce_sum, norm = self._step_data_parallel(batches, extras, inv)
            lr = learning_rate_at(
                self.step, peak=self.hp.learning_rate, warmup=self.hp.warmup_steps, total=self.total_steps
            )
            check_finite(self.step + 1, scalar(loss_sum), scalar(norm), lr)
            epoch = self.step // self.steps_per_epoch + 1
            self.step += 1
            memory = MemoryReading.now()
            check_memory(self.step, memory, self.settings.memory_budget_bytes, self._lowerable())
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
                train_loss=scalar(loss_sum),
                ce=scalar(ce_sum),
                learning_rate=lr,
                tokens=n_tokens,
                tokens_per_second=n_tokens / elapsed if elapsed > 0 else 0.0,
                peak_memory_gb=memory.peak / 1e9,
                val_loss=val_loss,
                grad_norm=scalar(norm),
                active_memory_gb=memory.active / 1e9,
            )

    def _step_alone(
        self, batches: list[Batch], extras: list[float], inv: mx.array
    ) -> tuple[mx.array, mx.array, mx.array]:
        """One optimizer step over all micro-batches here: (loss, ce, gradient norm before clipping)."""
        step_fn = self._compiled_step()
        grad = None
        loss_sum, ce_sum, norm = mx.array(0.0), mx.array(0.0), mx.array(0.0)
        for j, (batch, extra) in enumerate(zip(batches, extras, strict=True)):
            loss, ce, norm, grad = step_fn(
                mx.array(batch.tokens),
                mx.array(batch.mask),
                mx.array(batch.weights),
                mx.array(extra, dtype=mx.float32),
                inv,
                grad,
                j == len(batches) - 1,
            )
            loss_sum = loss_sum + loss
            ce_sum = ce_sum + ce
            mx.eval(self._state, loss_sum, ce_sum, norm, grad)
        return loss_sum, ce_sum, norm

    def _step_data_parallel(
        self, batches: list[Batch], extras: list[float], inv: mx.array
    ) -> tuple[mx.array, mx.array, mx.array]:
        """One step data-parallel: our rows of each micro-batch, gradients summed over ranks, one same update."""
        group = self.group
        assert group is not None
        rank, size = group.rank(), group.size()
        step_fn = self._compiled_step()
        grad = None
        loss_sum, ce_sum = mx.array(0.0), mx.array(0.0)
        for batch, extra in zip(batches, extras, strict=True):
            part = distributed.shard(batch, rank, size)
            if part is None:
                continue
            loss, ce, _norm, grad = step_fn(
                mx.array(part.tokens),
                mx.array(part.mask),
                mx.array(part.weights),
                mx.array(extra if rank == 0 else 0.0, dtype=mx.float32),  # the additive constant counted once
                inv,
                grad,
                False,
            )
            loss_sum = loss_sum + loss
            ce_sum = ce_sum + ce
            mx.eval(self._state, loss_sum, ce_sum, grad)
        if grad is None:  # no row of this step fell to this rank: it still takes part in the sum
            grad = tree_map(mx.zeros_like, self.model.trainable_parameters())  # type: ignore[no-untyped-call]
        grad, sums = distributed.all_sum((grad, mx.stack([loss_sum, ce_sum])), group)
        if self._apply_fn is None:
            self._apply_fn = compile_apply(self.model, self.optimizer, max_norm=self.hp.max_grad_norm)
        norm = self._apply_fn(grad)
        mx.eval(self.model.state, self.optimizer.state, norm, sums)
        return sums[0], sums[1], norm

    def _lowerable(self) -> str:
        """The run's values of what a memory error asks to lower."""
        hp = self.hp
        return (
            f"batch_size {hp.batch_size}, max_seq_length {hp.max_seq_length}, precision {hp.precision}, "
            f"quantize_base {hp.quantize_base}, gradient_checkpointing {hp.gradient_checkpointing}"
        )

    def step_gradients(self, step: int | None = None) -> tuple[float, float, dict[str, mx.array]]:
        """(loss, ce, flattened summed gradient) of optimizer step `step` (default: the next one).

        Computed exactly as training does but without clipping or updating anything. For tests and diagnostics.
        """
        batches, extras = self.order.batches(self.step if step is None else step)
        return summed_gradients(self.model, self._loss_and_grad, batches, extras)

    # ----------------------------------------------------------------------------------------- eval
    def evaluate(self) -> float | None:
        """Mean token CE (masked, completion-only as in training) over the validation set; None without one."""
        if not self.val_examples:
            return None
        return validation_loss(
            self.model,
            self.val_examples,
            batch_size=self.hp.batch_size,
            pad_id=self.tokenization.pad_id,
            max_seq_length=self.hp.max_seq_length,
        )
