"""A run's full state to a checkpoint and back: exact continuation, or a clear refusal that changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import mlx.core as mx
import mlx.optimizers as optim
from mlx.nn.layers.base import Module
from mlx.utils import tree_flatten

from services.trainer.core import checkpoint as ckpt
from services.trainer.core.config import TrainSettings
from services.trainer.core.lora import adapter_weights
from shared.adapter_format import AdapterConfig


class DataOrder(Protocol):
    """A run's data order, as a checkpoint records it: where a step starts."""

    def position(self, step: int) -> tuple[int, int]: ...


@dataclass(frozen=True)
class RunKey:
    """What a checkpoint must agree on to continue a run: the settings that change the math, the data, the length."""

    settings: TrainSettings
    data_fingerprint: str
    total_steps: int


def save_checkpoint(
    directory: Path,
    *,
    model: Module,
    optimizer: optim.Optimizer,
    adapter_config: AdapterConfig,
    key: RunKey,
    order: DataOrder,
    step: int,
) -> None:
    """Adapter, optimizer state, RNG states, data position and step, with a versioned manifest."""
    epoch, index = order.position(step)
    state = ckpt.TrainerState(
        step=step,
        total_steps=key.total_steps,
        epoch=epoch,
        index=index,
        rng=ckpt.rng_state(),
        settings=key.settings.continuation_fingerprint(),
        data_fingerprint=key.data_fingerprint,
    )
    ckpt.write_checkpoint(
        directory,
        ckpt.Checkpoint(
            state=state,
            adapter=adapter_weights(model),
            adapter_config=adapter_config,
            optimizer=dict(tree_flatten(optimizer.state)),
        ),
    )


def restore_checkpoint(
    directory: Path,
    *,
    model: Module,
    optimizer: optim.Optimizer,
    key: RunKey,
    order: DataOrder,
) -> int:
    """Load a checkpoint of the same run into `model`, `optimizer` and the RNGs; the step to continue from.

    Raises FailedPrecondition (and changes nothing) when the checkpoint is missing, corrupt, or from
    different settings or data.
    """
    loaded = ckpt.read_checkpoint(directory)
    ckpt.check_resumable(
        directory,
        loaded,
        settings=key.settings.continuation_fingerprint(),
        data_fingerprint=key.data_fingerprint,
        total_steps=key.total_steps,
        position=order.position(loaded.state.step),
        adapter=adapter_weights(model),
        optimizer=dict(tree_flatten(optimizer.state)),
    )
    model.load_weights(list(loaded.adapter.items()), strict=False)
    for name, value in loaded.optimizer.items():
        ckpt.assign_leaf(optimizer.state, name, value)  # in place: the compiled step holds these
    ckpt.set_rng_state(loaded.state.rng)
    mx.eval(model.parameters(), optimizer.state)  # type: ignore[no-untyped-call]  # mlx's Module is unannotated
    return loaded.state.step
