"""The trainer workers' machines over HTTP, and training settings recommended for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway.deps import HardwareDep, Owner
from services.gateway.schemas.common import ListResponse
from shared.schemas.fine_tuning import MAX_SEQ_LENGTH, Precision
from shared.schemas.hardware import HardwareRecommendation, WorkerHardware

router = APIRouter(prefix="/v1/hardware", tags=["hardware"])


@router.get("", summary="The trainer workers' machines: hardware, memory budget and BLAS")
async def list_hardware(hardware: HardwareDep, _owner: Owner) -> ListResponse[WorkerHardware]:
    """Each live worker's latest report; the trainer server's own machine (role `trainer`) while none reports."""
    return await hardware.list()


@router.get("/recommendation", summary="Training settings for a model that fit a worker's memory budget")
async def recommendation(
    hardware: HardwareDep,
    owner: Owner,
    model: Annotated[str, Query(min_length=1, max_length=256, description="A base model you may train")],
    seq_len: Annotated[int, Query(ge=1, le=MAX_SEQ_LENGTH, description="Tokens per training sequence")] = 512,
    precision: Annotated[Precision, Query(description="`auto`: the worker's dtype")] = "auto",
    quantize_base: Annotated[
        int | None, Query(ge=1, le=64, description="QLoRA: 4 or 8 (bits); unset: as stored")
    ] = None,
    worker: Annotated[
        str | None, Query(max_length=256, description="A worker's id; unset: the smallest budget")
    ] = None,
) -> HardwareRecommendation:
    """Batch size, LoRA rank and layers, and the memory estimate, for a job on that worker's machine."""
    return await hardware.recommend(
        owner, model, seq_len=seq_len, precision=precision, quantize_base=quantize_base, worker=worker
    )


workers_router = APIRouter(prefix="/v1/workers", tags=["hardware"])


@workers_router.get("", summary="The trainer workers with their load and placement queues")
async def list_workers(hardware: HardwareDep, _owner: Owner) -> ListResponse[WorkerHardware]:
    """Each live worker: its machine and budget, the memory-tier queues it consumes, the job it runs now."""
    return await hardware.list()
