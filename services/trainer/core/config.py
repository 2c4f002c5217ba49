"""Settings of one training run: the job's typed hyperparameters, distrust and LoRA specs, plus local paths.

The specs validate themselves when built (shared.schemas.fine_tuning); `validate()` here checks what only a
run has: paths, the seed and the record format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.trainer.core.precision import resolve_precision
from shared.errors import invalid_field
from shared.schemas.fine_tuning import (
    MAX_SEQ_LENGTH,
    DistrustSpec,
    LoraSpec,
    ResolvedHyperparameters,
    check_choice,
    check_int,
)

__all__ = ["MAX_SEQ_LENGTH", "TrainSettings", "check_choice", "check_int"]


@dataclass(frozen=True)
class TrainSettings:
    """One training run. Paths are local; `validate()` checks values only, not that the files exist."""

    model_path: Path  # a local HF-layout folder mlx_lm.load opens
    train_path: Path  # JSONL, spec §6 records
    val_path: Path | None = None
    seed: int = 0
    hyperparameters: ResolvedHyperparameters = field(default_factory=ResolvedHyperparameters)
    distrust: DistrustSpec = field(default_factory=DistrustSpec)
    lora: LoraSpec = field(default_factory=LoraSpec)
    completion_only: bool = True
    adapter_path: Path | None = None  # an adapter (mlx-lm layout) the run continues, its LoRA settings the run's
    memory_budget_bytes: int | None = None  # the worker's budget: a step whose peak nears it stops the run

    def validate(self) -> None:
        """Raise InvalidArgument naming the first bad field, its value and the allowed range."""
        for name, value in (("model_path", self.model_path), ("train_path", self.train_path)):
            if not isinstance(value, Path):
                raise invalid_field(name, value, "a path")
        for name, path in (("val_path", self.val_path), ("adapter_path", self.adapter_path)):
            if path is not None and not isinstance(path, Path):
                raise invalid_field(name, path, "a path or null")
        check_int("seed", self.seed, 0, 2**32 - 1)
        if self.memory_budget_bytes is not None:
            check_int("memory_budget_bytes", self.memory_budget_bytes, 1, 2**63 - 1)
        if not isinstance(self.completion_only, bool):
            raise invalid_field("completion_only", self.completion_only, "true or false")

    def continuation_fingerprint(self) -> dict[str, Any]:
        """The settings a checkpoint must agree on to continue exactly (paths and eval cadence excluded)."""
        return {
            "seed": self.seed,
            "completion_only": self.completion_only,
            # "auto" is the device's dtype: a run resumed on another device must not silently change it
            **self.hyperparameters.computed(resolve=resolve_precision),
            "distrust": self.distrust.model_dump(),
            "lora": self.lora.model_dump(),
        }
