"""The model import resource over HTTP: the request that creates one and the object every import route returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.evaluation import JobError, JobStatusName
from shared.schemas.model_import import ImportQuantization, ModelProvenance
from shared.schemas.request import RequestModel


class CreateModelImport(RequestModel):
    """The body of `POST /v1/models`: an uploaded model file, the name to register it under, and how."""

    file: str = Field(description="The id of a file uploaded with purpose `model` (a GGUF, or a tar of a folder)")
    name: str | None = Field(default=None, description="Name of the imported model; default from the file name")
    quantization: ImportQuantization = Field(
        default="keep", description="`keep` the file's quantization, or dequantize to a training precision"
    )
    public: bool = Field(default=False, description="Register it for every owner (admin keys only)")


class ModelImport(BaseModel):
    """An import: an uploaded model file converted on a worker and registered as a base model."""

    id: str
    object: Literal["model.import"] = "model.import"
    file: str
    name: str
    quantization: ImportQuantization
    public: bool
    status: JobStatusName
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    error: JobError | None = None
    provenance: ModelProvenance | None = None
