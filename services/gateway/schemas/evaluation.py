"""The evaluation resource over HTTP: the request that creates one and the object every route returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.schemas.evaluation import EvalProgress, EvalSummary, EvalTask
from shared.schemas.request import RequestModel

JobStatusName = Literal["validating_files", "queued", "running", "succeeded", "failed", "cancelling", "cancelled"]


class JobError(BaseModel):
    """Why a job failed, as OpenAI's fine-tuning job reports it."""

    code: str
    message: str
    param: str | None = None


class CreateEval(RequestModel):
    """The body of `POST /v1/evals`."""

    models: list[str] = Field(min_length=1, max_length=8, description="Base models and fine-tuned models")
    tasks: list[EvalTask] = Field(min_length=1, max_length=16)
    include_base: bool = Field(default=True, description="Add each adapter's base model, for a side-by-side view")
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    name: str | None = Field(default=None, max_length=200)


class Eval(BaseModel):
    """An evaluation: the same tasks on several models, with the side-by-side summary once it succeeded."""

    id: str
    object: Literal["eval"] = "eval"
    name: str | None = None
    status: JobStatusName
    models: list[str]
    tasks: list[EvalTask]
    seed: int
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    error: JobError | None = None
    progress: EvalProgress
    summary: EvalSummary | None = None
