"""What every job has: a status, an error, timestamps, an owner and an event log."""

from __future__ import annotations

import secrets
import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shared.log import current_context


class JobStatus(StrEnum):
    """A job's place in its life; the names are OpenAI's fine-tuning job statuses."""

    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    PAUSED = "paused"  # fine-tuning jobs only: stopped with a checkpoint until resumed


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def new_id(prefix: str) -> str:
    """A fresh random id such as `ftjob-<24 hex digits>`."""
    return f"{prefix}-{secrets.token_hex(12)}"


class JobError(BaseModel):
    """Why a job failed: a code, a readable message and the request field at fault, if any."""

    code: str
    message: str
    param: str | None = None


class BaseJob(BaseModel):
    """What every kind of job has: an owner, a status and its timestamps, an error when it failed."""

    id: str
    owner: str
    status: JobStatus = JobStatus.QUEUED
    created_at: int = Field(default_factory=lambda: int(time.time()))
    started_at: int | None = None
    finished_at: int | None = None
    error: JobError | None = None
    # The request that created the job (its x-request-id), so the worker's log lines carry it too.
    request_id: str | None = Field(default_factory=lambda: current_context().get("request_id"))


class EventRecord(BaseModel):
    """One entry of a job's event log; `data` is open (each kind of event carries its own fields)."""

    id: str = Field(default_factory=lambda: new_id("ftevent"))
    sequence: int = 0
    created_at: int = Field(default_factory=lambda: int(time.time()))
    level: str = "info"
    message: str
    type: str = "message"
    data: dict[str, Any] = Field(default_factory=dict)
    status: JobStatus | None = None
    # The request being served when it was recorded; a worker runs a job in the context of the one that made it.
    request_id: str | None = Field(default_factory=lambda: current_context().get("request_id"))
