"""OpenAI's Batch API: a file of requests to one endpoint, answered as a job; output and error files by custom_id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from services.gateway.deps import JOB_SLOT, BatchesDep, Owner
from services.gateway.schemas.batch import Batch, CreateBatch
from services.gateway.schemas.common import ListResponse
from services.gateway.trainer_client import page

router = APIRouter(prefix="/v1/batches", tags=["batches"])


@router.post("", summary="Create a batch", response_model=Batch, dependencies=[JOB_SLOT])
async def create_batch(body: CreateBatch, owner: Owner, batches: BatchesDep) -> Batch:
    """Check each line of the input file (its number named on an error), then queue the batch."""
    record = await run_in_threadpool(
        batches.create, owner, input_file_id=body.input_file_id, endpoint=body.endpoint, metadata=body.metadata
    )
    return Batch.of(record)


@router.get("", summary="List batches", response_model=ListResponse[Batch])
async def list_batches(
    owner: Owner, batches: BatchesDep, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> ListResponse[Batch]:
    """A page of the caller's batches, newest first."""
    records, has_more = await run_in_threadpool(batches.list, owner, after=after, limit=limit)
    return page([Batch.of(r) for r in records], has_more)


@router.get("/{batch_id}", summary="Retrieve a batch", response_model=Batch)
async def get_batch(batch_id: str, owner: Owner, batches: BatchesDep) -> Batch:
    """One of the caller's batches, with its request counts so far."""
    return Batch.of(await run_in_threadpool(batches.get, owner, batch_id))


@router.post("/{batch_id}/cancel", summary="Cancel a batch", response_model=Batch)
async def cancel_batch(batch_id: str, owner: Owner, batches: BatchesDep) -> Batch:
    """Stop the batch: its output and error files keep what was answered; the rest is marked not run."""
    return Batch.of(await run_in_threadpool(batches.cancel, owner, batch_id))
