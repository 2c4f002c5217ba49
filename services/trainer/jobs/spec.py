"""From a job's record to the training core's settings; the specs validated themselves when the record was built."""

from __future__ import annotations

from pathlib import Path

from services.trainer.core.config import TrainSettings
from services.trainer.jobs.records import JobRecord


def train_settings(job: JobRecord, *, model_path: Path, train_path: Path, val_path: Path | None) -> TrainSettings:
    """The run's settings: the job's specs with "auto" resolved, and the local paths of its model and files."""
    return TrainSettings(
        model_path=model_path,
        train_path=train_path,
        val_path=val_path,
        seed=job.seed,
        hyperparameters=job.hyperparameters.resolved(),
        distrust=job.distrust,
        lora=job.lora,
    )


def validate_request(job: JobRecord) -> None:
    """Check what the specs cannot check alone (derived values, the seed) before anything is queued."""
    train_settings(job, model_path=Path(), train_path=Path(), val_path=None).validate()
