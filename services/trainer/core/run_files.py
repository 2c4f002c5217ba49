"""What a LoRA run writes and reads back: its adapter, and checkpoints to continue it exactly."""

from __future__ import annotations

from pathlib import Path

import mlx.optimizers as optim
from mlx.nn.layers.base import Module

from services.trainer.core import resume
from services.trainer.core.config import TrainSettings
from services.trainer.core.lora import adapter_config, save_adapter
from shared.adapter_format import AdapterConfig


class RunFiles:
    """Adapter and checkpoint files of a run (supervised or preference): the run sets the attributes below."""

    settings: TrainSettings
    model: Module
    optimizer: optim.Optimizer
    lora_layers: int
    step: int
    order: resume.DataOrder
    _run_key: resume.RunKey

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
        resume.save_checkpoint(
            Path(directory),
            model=self.model,
            optimizer=self.optimizer,
            adapter_config=self._adapter_config(),
            key=self._run_key,
            order=self.order,
            step=self.step,
        )

    def restore(self, directory: Path) -> None:
        """Continue exactly from a checkpoint of the same run.

        Raises FailedPrecondition (and changes nothing) when the checkpoint is missing, corrupt, or from
        different settings or data.
        """
        self.step = resume.restore_checkpoint(
            Path(directory), model=self.model, optimizer=self.optimizer, key=self._run_key, order=self.order
        )
