"""OpenAI-compatible fine-tuning jobs, with the `distrust` and `lora` extensions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from services.gateway import charts
from services.gateway.deps import JOB_SLOT, Owner, RegistryDep, StoreDep, TrainerDep
from services.gateway.job_events import events_response
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.fine_tuning import (
    CreateFineTuningJob,
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
    JobCreate,
)
from shared.archive import pack_tar_gz
from shared.errors import FailedPrecondition, InvalidArgument

router = APIRouter(prefix="/v1/fine_tuning/jobs", tags=["fine-tuning"])
EXTENSIONS = frozenset({"method", "integrations", "metadata"})


def job_to_create(body: CreateFineTuningJob) -> JobCreate:
    """The trainer's create request: hyperparameters from the top level or `method.supervised`, not both."""
    from_method = body.method.supervised.hyperparameters if body.method and body.method.supervised else None
    if from_method is not None and "hyperparameters" in body.model_fields_set:
        raise InvalidArgument(
            "hyperparameters: give them either at the top level or in method.supervised, not both",
            param="hyperparameters",
        )
    for name in ("integrations", "metadata"):
        if getattr(body, name):
            raise InvalidArgument(f"{name}: not supported", param=name)
    job = JobCreate.model_validate(body.model_dump(exclude=set(EXTENSIONS)))
    return job.model_copy(update={"hyperparameters": from_method}) if from_method is not None else job


@router.post("", summary="Create a fine-tuning job", response_model=FineTuningJob, dependencies=[JOB_SLOT])
async def create_job(body: CreateFineTuningJob, owner: Owner, trainer: TrainerDep) -> FineTuningJob:
    """Validate the request and queue a job."""
    return await trainer.create(owner, job_to_create(body))


@router.get("", summary="List fine-tuning jobs", response_model=ListResponse[FineTuningJob])
async def list_jobs(
    owner: Owner, trainer: TrainerDep, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> ListResponse[FineTuningJob]:
    """A page of the caller's jobs, newest first."""
    return await trainer.list(owner, after=after, limit=limit)


@router.get("/{job_id}", summary="Retrieve a fine-tuning job", response_model=FineTuningJob)
async def get_job(job_id: str, owner: Owner, trainer: TrainerDep) -> FineTuningJob:
    """One of the caller's jobs."""
    return await trainer.get(owner, job_id)


@router.post("/{job_id}/cancel", summary="Cancel a fine-tuning job", response_model=FineTuningJob)
async def cancel_job(job_id: str, owner: Owner, trainer: TrainerDep) -> FineTuningJob:
    """Ask a job to stop; it keeps its last checkpoint."""
    return await trainer.cancel(owner, job_id)


@router.get(
    "/{job_id}/events",
    summary="A job's events; `stream=true` follows them as server-sent events",
    response_model=ListResponse[FineTuningJobEvent],
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(
    job_id: str,
    owner: Owner,
    trainer: TrainerDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    stream: bool = False,
) -> ListResponse[FineTuningJobEvent] | StreamingResponse:
    """A newest-first page of events, or (with `stream`) every event as it happens."""
    return await events_response(trainer.events, owner, job_id, after=after, limit=limit, stream=stream)


@router.get(
    "/{job_id}/checkpoints",
    summary="A job's checkpoints, newest first",
    response_model=ListResponse[FineTuningJobCheckpoint],
)
async def job_checkpoints(
    job_id: str,
    owner: Owner,
    trainer: TrainerDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> ListResponse[FineTuningJobCheckpoint]:
    """A page of the job's checkpoints."""
    return await trainer.checkpoints(owner, job_id, after=after, limit=limit)


@router.get(
    "/{job_id}/adapter",
    summary="The trained adapter (mlx-lm layout) as a .tar.gz",
    response_class=FileResponse,
    responses={200: {"content": {"application/gzip": {}}}},
)
async def job_adapter(
    job_id: str, owner: Owner, trainer: TrainerDep, registry: RegistryDep, store: StoreDep
) -> FileResponse:
    """The adapter of a succeeded job, as an archive mlx-lm loads once unpacked."""
    job = await trainer.get(owner, job_id)
    if not job.fine_tuned_model:
        raise FailedPrecondition(
            f"Job {job_id} has no adapter yet (status {job.status})",
            param="fine_tuning_job_id",
            code="adapter_not_ready",
        )
    adapter = await run_in_threadpool(registry.get_adapter, job.fine_tuned_model, owner=owner)
    path = await run_in_threadpool(
        pack_tar_gz, store, adapter.bucket, adapter.prefix, adapter.files, root=f"{job_id}-adapter"
    )
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=f"{job_id}-adapter.tar.gz",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get(
    "/{job_id}/charts/loss.png",
    summary="The job's loss curves (training, CE, validation) as a PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def job_loss_chart(job_id: str, owner: Owner, trainer: TrainerDep) -> Response:
    """The loss curves drawn from the job's metrics events."""
    events = await trainer.events(owner, job_id, after_sequence=0, follow=False).collect()
    metrics = [e.model_dump() for e in events if e.type == "metrics"]
    png = await run_in_threadpool(charts.loss_chart, metrics, title=job_id)
    return Response(png, media_type="image/png", headers={"cache-control": "no-cache"})
