"""The export resource over HTTP: the request that creates one and the object every export route returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.evaluation import JobError, JobStatusName
from shared.schemas.export import ExportOptions, ExportResult


class CreateExport(ExportOptions):
    """The body of `POST /v1/models/export`: the adapter, the output name, and the export options."""

    model: str = Field(description="The fine-tuned model (adapter) to fuse into its base model")
    name: str | None = Field(default=None, description="Name of the exported model; default from the adapter's")


class ModelExport(BaseModel):
    """An export: an adapter fused into its base (optionally quantized, optionally GGUF), registered as a model."""

    id: str
    object: Literal["model.export"] = "model.export"
    model: str
    base_model: str
    output_model: str
    status: JobStatusName
    options: ExportOptions
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    error: JobError | None = None
    result: ExportResult | None = None
