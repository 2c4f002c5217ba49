"""Job, event and checkpoint records, shaped like OpenAI's fine-tuning objects."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from shared.jobs.records import BaseJob, JobStatus, new_id


class JobRecord(BaseJob):
    id: str = Field(default_factory=lambda: new_id("ftjob"))
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
    trained_tokens: int = 0
    result_files: list[str] = Field(default_factory=list)
    step: int = 0
    total_steps: int = 0


class CheckpointRecord(BaseModel):
    id: str = Field(default_factory=lambda: new_id("ftckpt"))
    job_id: str
    step: int
    created_at: int = Field(default_factory=lambda: int(time.time()))
    metrics: dict[str, Any] = Field(default_factory=dict)
    storage_prefix: str
    files: dict[str, str] = Field(default_factory=dict)


class EvalRecord(BaseJob):
    """An evaluation: the same tasks run on several models; the full report lives in the object store."""

    id: str = Field(default_factory=lambda: new_id("eval"))
    name: str | None = None
    models: list[str]  # as asked, in order, with each adapter's base added when include_base was set
    tasks: list[dict[str, Any]]  # validated task specs (file ids, not local paths)
    seed: int
    progress: dict[str, Any] = Field(default_factory=dict)  # {"done": n, "total": m, "model": name, "task": name}
    summary: dict[str, Any] | None = None  # the side-by-side comparison, small enough for the record
    results_key: str | None = None  # object key of the full report in the results bucket


class ExportRecord(BaseJob):
    """Fuse an adapter into its base (optionally quantized, optionally GGUF); the result is a served base model."""

    id: str = Field(default_factory=lambda: new_id("export"))
    model: str  # the fine-tuned model (adapter) to export
    base_model: str
    output_model: str  # the name the exported model is registered under
    options: dict[str, Any]
    progress: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None  # bytes, files, quantization, gguf key
