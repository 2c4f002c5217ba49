"""Job, event and checkpoint records, shaped like OpenAI's fine-tuning objects."""

from __future__ import annotations

import secrets
import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class JobStatus(StrEnum):
    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


class JobError(BaseModel):
    code: str
    message: str
    param: str | None = None


class JobRecord(BaseModel):
    id: str = Field(default_factory=lambda: new_id("ftjob"))
    owner: str
    model: str
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int
    status: JobStatus = JobStatus.VALIDATING_FILES
    hyperparameters: dict[str, Any]
    distrust: dict[str, Any]
    lora: dict[str, Any]
    fine_tuned_model: str | None = None
    created_at: int = Field(default_factory=lambda: int(time.time()))
    started_at: int | None = None
    finished_at: int | None = None
    trained_tokens: int = 0
    error: JobError | None = None
    result_files: list[str] = Field(default_factory=list)
    step: int = 0
    total_steps: int = 0


class EventRecord(BaseModel):
    id: str = Field(default_factory=lambda: new_id("ftevent"))
    sequence: int = 0
    created_at: int = Field(default_factory=lambda: int(time.time()))
    level: str = "info"
    message: str
    type: str = "message"
    data: dict[str, Any] = Field(default_factory=dict)
    status: JobStatus | None = None


class CheckpointRecord(BaseModel):
    id: str = Field(default_factory=lambda: new_id("ftckpt"))
    job_id: str
    step: int
    created_at: int = Field(default_factory=lambda: int(time.time()))
    metrics: dict[str, Any] = Field(default_factory=dict)
    storage_prefix: str
    files: dict[str, str] = Field(default_factory=dict)
