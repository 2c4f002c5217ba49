"""File records, shaped like OpenAI's File object."""

from __future__ import annotations

import secrets
from enum import StrEnum

from pydantic import BaseModel, Field


class Purpose(StrEnum):
    FINE_TUNE = "fine-tune"
    BATCH = "batch"
    ASSISTANTS = "assistants"
    RAW = "raw"
    # Evaluation data: multiple-choice items, suites, TruthfulQA-format benchmarks (JSON Lines).
    EVALS = "evals"
    # Written by the services, never uploaded by users.
    FINE_TUNE_RESULTS = "fine-tune-results"
    DATASET_REPORT = "dataset-report"
    SCORED = "scored"


UPLOADABLE_PURPOSES = (Purpose.FINE_TUNE, Purpose.BATCH, Purpose.ASSISTANTS, Purpose.RAW, Purpose.EVALS)


def new_file_id() -> str:
    return "file-" + secrets.token_hex(12)


class FileObject(BaseModel):
    id: str
    object: str = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: Purpose
    status: str = "processed"
    status_details: str | None = None
    owner: str = Field(exclude=True)
    sha256: str
    lines: int | None = None

    @property
    def storage_key(self) -> str:
        return self.id
