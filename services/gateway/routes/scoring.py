"""Scoring and dataset preparation over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import current_owner
from services.gateway.dataset_jobs import public_view

router = APIRouter(tags=["scoring"])
Owner = Annotated[str, Depends(current_owner)]
Profile = Literal["strict", "reference"]
MAX_DOCUMENTS = 2048


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    metadata: dict[str, Any] | None = None


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(min_length=1, max_length=MAX_DOCUMENTS)
    profile: Profile | None = None


class InputIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file_id: str
    source_type: str | None = None


class PrepareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[InputIn] = Field(min_length=1, max_length=64)
    profile: Profile | None = None
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="min_length, max_chars, targets, val_fraction, seed, strict, "
        "dedup, rebalance, keep_existing_scores",
    )


@router.post("/v1/score", summary="Score 1..2048 documents for authority weight and provenance entropy")
async def score(body: ScoreRequest, request: Request, _owner: Owner) -> dict[str, Any]:
    documents = [(d.text, d.metadata) for d in body.documents]
    results = await run_in_threadpool(request.app.state.backends.scorer.score, documents, body.profile)
    return {
        "object": "list",
        "profile": body.profile or "strict",
        "data": [{"object": "score", "index": i, **r} for i, r in enumerate(results)],
    }


@router.post("/v1/datasets/prepare", summary="Prepare train / validation files from raw files (a job)")
def prepare(body: PrepareRequest, request: Request, owner: Owner) -> dict[str, Any]:
    job = request.app.state.backends.dataset_jobs.create(
        owner=owner, inputs=[i.model_dump() for i in body.inputs], options=body.options, profile=body.profile
    )
    return public_view(job)


@router.get("/v1/datasets/jobs/{job_id}", summary="A preparation job: status, progress, report, output files")
def get_job(job_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    return public_view(request.app.state.backends.dataset_jobs.get(owner=owner, job_id=job_id))
