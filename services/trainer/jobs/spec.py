"""From a job's stored request to the training core's settings: "auto" values resolved, names kept for errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.trainer.core.config import DistrustSettings, LoraSettings, TrainSettings
from services.trainer.jobs.records import JobRecord
from shared.errors import invalid_field

BASE_LEARNING_RATE = 2e-4
AUTO = {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 1.0}
DEFAULT_CHECKPOINT_EVERY = 10
HYPERPARAMETERS = (
    "n_epochs",
    "batch_size",
    "learning_rate_multiplier",
    "learning_rate",
    "gradient_accumulation_steps",
    "max_seq_length",
    "warmup_steps",
    "max_grad_norm",
    "weight_decay",
    "eval_every_steps",
    "checkpoint_every_steps",
    "max_steps",
)


def resolved_hyperparameters(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The stored values with every "auto" (absent) one replaced by its default, as OpenAI reports them."""
    out = {**AUTO, **{k: v for k, v in hyperparameters.items() if v is not None and v != "auto"}}
    out.setdefault("learning_rate", BASE_LEARNING_RATE * float(out["learning_rate_multiplier"]))
    out.setdefault("checkpoint_every_steps", DEFAULT_CHECKPOINT_EVERY)
    return out


def train_settings(job: JobRecord, *, model_path: Path, train_path: Path, val_path: Path | None) -> TrainSettings:
    hp = resolved_hyperparameters(job.hyperparameters)
    optional = {
        name: hp[name]
        for name in ("warmup_steps", "max_grad_norm", "weight_decay", "max_seq_length", "max_steps", "eval_every_steps")
        if name in hp
    }
    distrust = DistrustSettings(
        **{("lam" if k == "lambda" else k): v for k, v in job.distrust.items() if v is not None}
    )
    lora = {k: (tuple(v) if k == "keys" else v) for k, v in job.lora.items() if v not in (None, [], ())}
    return TrainSettings(
        model_path=model_path,
        train_path=train_path,
        val_path=val_path,
        seed=job.seed,
        n_epochs=int(hp["n_epochs"]),
        batch_size=int(hp["batch_size"]),
        grad_accum_steps=int(hp.get("gradient_accumulation_steps", 1)),
        learning_rate=float(hp["learning_rate"]),
        distrust=distrust,
        lora=LoraSettings(**lora),
        **optional,
    )


def validate_request(job: JobRecord) -> None:
    """Check every value now (InvalidArgument naming field and range), before anything is queued."""
    settings = train_settings(job, model_path=Path("."), train_path=Path("."), val_path=None)
    settings.validate()
    every = resolved_hyperparameters(job.hyperparameters)["checkpoint_every_steps"]
    if not isinstance(every, int) or not 1 <= every <= 1_000_000:
        raise invalid_field("hyperparameters.checkpoint_every_steps", every, "an integer in [1, 1000000]")
