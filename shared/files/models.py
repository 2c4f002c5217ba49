"""File records, shaped like OpenAI's File object: the one schema of a file, stored and served."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Purpose(StrEnum):
    """What a file is for, as OpenAI names it, plus the purposes of files the services write."""

    FINE_TUNE = "fine-tune"
    BATCH = "batch"
    ASSISTANTS = "assistants"
    RAW = "raw"
    # Evaluation data: multiple-choice items, suites, TruthfulQA-format benchmarks (JSON Lines).
    EVALS = "evals"
    # A model to import: a GGUF file or a tar of a model folder (stored as uploaded, no line checks).
    MODEL = "model"
    # Written by the services, never uploaded by users.
    FINE_TUNE_RESULTS = "fine-tune-results"
    DATASET_REPORT = "dataset-report"
    SCORED = "scored"
    BATCH_OUTPUT = "batch_output"  # a batch's output and error files


UPLOADABLE_PURPOSES = (
    Purpose.FINE_TUNE,
    Purpose.BATCH,
    Purpose.ASSISTANTS,
    Purpose.RAW,
    Purpose.EVALS,
    Purpose.MODEL,
)


def new_file_id() -> str:
    """A new OpenAI-style file id (`file-…`)."""
    return "file-" + secrets.token_hex(12)


class FileObject(BaseModel):
    """A stored file: OpenAI's fields, plus its checksum and line count; the owner is kept but never served."""

    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: Purpose
    status: Literal["uploaded", "processed", "error"] = "processed"
    status_details: str | None = None
    owner: str = Field(exclude=True)
    sha256: str
    lines: int | None = None

    @property
    def storage_key(self) -> str:
        return self.id
