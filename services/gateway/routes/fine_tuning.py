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
    Method,
)
from shared.archive import pack_tar_gz
from shared.errors import FailedPrecondition, InvalidArgument
from shared.schemas.fine_tuning import Hyperparameters, PreferenceSpec

router = APIRouter(prefix="/v1/fine_tuning/jobs", tags=["fine-tuning"])
EXTENSIONS = frozenset({"method", "preference", "integrations", "metadata"})


def _refuse(param: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"{param}: {message}", param=param)


def _method_hyperparameters(body: CreateFineTuningJob, method: Method) -> Hyperparameters | None:
    """The hyperparameters given in `method.<type>`, refusing the other type's object."""
    other = "dpo" if method.type == "supervised" else "supervised"
    if getattr(method, other) is not None:
        raise _refuse(f"method.{other}", f'not allowed with method.type "{method.type}"')
    given = method.supervised if method.type == "supervised" else method.dpo
    hyperparameters = given.hyperparameters if given else None
    if hyperparameters is not None and "hyperparameters" in body.model_fields_set:
        raise _refuse("hyperparameters", f"give them either at the top level or in method.{method.type}, not both")
    return hyperparameters


def _preference(body: CreateFineTuningJob, method: Method) -> PreferenceSpec:
    """A DPO job's spec, with OpenAI's `method.dpo.hyperparameters.beta` moved into it."""
    spec = body.preference or PreferenceSpec()
    given = method.dpo.hyperparameters if method.dpo else None
    if given is None or "beta" not in given.model_fields_set:
        return spec
    if body.preference is not None and "beta" in body.preference.model_fields_set:
        raise _refuse("preference.beta", "give beta either here or in method.dpo.hyperparameters, not both")
    return spec.model_copy(update={"beta": given.beta})


def job_to_create(body: CreateFineTuningJob) -> JobCreate:
    """The trainer's create request: hyperparameters from the top level or `method.<type>`, not both.

    A DPO job's `beta` may come from OpenAI's place or our `preference` object; `distrust` is supervised only.
    """
    for name in ("integrations", "metadata"):
        if getattr(body, name):
            raise _refuse(name, "not supported")
    method = body.method or Method(type="supervised")
    from_method = _method_hyperparameters(body, method)
    job = JobCreate.model_validate(body.model_dump(exclude=set(EXTENSIONS)))
    if from_method is not None:
        job = job.model_copy(
            update={"hyperparameters": Hyperparameters.model_validate(from_method.model_dump(exclude={"beta"}))}
        )
    if method.type == "supervised":
        if body.preference is not None:
            raise _refuse("preference", 'only for method.type "dpo"')
        return job
    if "distrust" in body.model_fields_set:
        raise _refuse(
            "distrust",
            'not used by method.type "dpo": its pairs are weighted by their provenance margin '
            "(preference.weight_by_margin)",
        )
    return job.model_copy(update={"method": "dpo", "preference": _preference(body, method)})


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


@router.post("/{job_id}/pause", summary="Pause a fine-tuning job", response_model=FineTuningJob)
async def pause_job(job_id: str, owner: Owner, trainer: TrainerDep) -> FineTuningJob:
    """Ask a queued or running job to pause; it stops after its current step with a checkpoint."""
    return await trainer.pause(owner, job_id)


@router.post("/{job_id}/resume", summary="Resume a paused fine-tuning job", response_model=FineTuningJob)
async def resume_job(job_id: str, owner: Owner, trainer: TrainerDep) -> FineTuningJob:
    """Queue a paused job again; it continues from its last checkpoint."""
    return await trainer.resume(owner, job_id)


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
