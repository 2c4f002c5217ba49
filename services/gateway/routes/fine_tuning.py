"""OpenAI-compatible fine-tuning jobs, with the `distrust` and `lora` extensions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from services.gateway import charts
from services.gateway.auth import current_owner
from services.gateway.job_events import events_response
from shared.archive import pack_tar_gz
from shared.errors import FailedPrecondition, InvalidArgument
from shared.storage import Bucket

router = APIRouter(prefix="/v1/fine_tuning/jobs", tags=["fine-tuning"])
Owner = Annotated[str, Depends(current_owner)]
Auto = Literal["auto"]


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_epochs: int | Auto | None = None
    batch_size: int | Auto | None = None
    learning_rate_multiplier: float | Auto | None = None
    learning_rate: float | None = None
    gradient_accumulation_steps: int | None = None
    max_seq_length: int | None = None
    warmup_steps: int | None = None
    max_grad_norm: float | None = None
    weight_decay: float | None = None
    eval_every_steps: int | None = None
    checkpoint_every_steps: int | None = None
    max_steps: int | None = None


class Supervised(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hyperparameters: Hyperparameters | None = None


class Method(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["supervised"]
    supervised: Supervised | None = None


class Distrust(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    mode: Literal["weighted", "additive", "none"] | None = None
    alpha: float | None = None
    lambda_: float | None = Field(default=None, alias="lambda")
    weighting: Literal["plain", "monotone"] | None = None
    weight_min: float | None = None
    weight_max: float | None = None


class Lora(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank: int | None = None
    alpha: float | None = None
    layers: int | None = None
    keys: list[str] | None = None


class CreateJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = None
    hyperparameters: Hyperparameters | None = None
    method: Method | None = None
    distrust: Distrust | None = None
    lora: Lora | None = None
    integrations: list[Any] | None = None
    metadata: dict[str, str] | None = None


def _trainer(request: Request) -> Any:
    return request.app.state.backends.trainer


@router.post("", summary="Create a fine-tuning job")
async def create_job(body: CreateJob, request: Request, owner: Owner) -> dict[str, Any]:
    from_method = body.method.supervised.hyperparameters if body.method and body.method.supervised else None
    if from_method and body.hyperparameters:
        raise InvalidArgument(
            "hyperparameters: give them either at the top level or in method.supervised, not both",
            param="hyperparameters",
        )
    if body.integrations:
        raise InvalidArgument("integrations: not supported", param="integrations")
    hyperparameters = (from_method or body.hyperparameters or Hyperparameters()).model_dump(exclude_none=True)
    payload = {
        "model": body.model,
        "training_file": body.training_file,
        "validation_file": body.validation_file,
        "suffix": body.suffix,
        "seed": body.seed,
        "hyperparameters": hyperparameters,
        "distrust": body.distrust.model_dump(exclude_none=True, by_alias=True) if body.distrust else {},
        "lora": body.lora.model_dump(exclude_none=True) if body.lora else {},
    }
    return await run_in_threadpool(_trainer(request).create, owner, payload)


@router.get("", summary="List fine-tuning jobs")
def list_jobs(
    request: Request, owner: Owner, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    return _trainer(request).list(owner, after=after, limit=limit)


@router.get("/{job_id}", summary="Retrieve a fine-tuning job")
def get_job(job_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    return _trainer(request).get(owner, job_id)


@router.post("/{job_id}/cancel", summary="Cancel a fine-tuning job")
def cancel_job(job_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    return _trainer(request).cancel(owner, job_id)


@router.get(
    "/{job_id}/events", summary="A job's events; `stream=true` follows them as server-sent events", response_model=None
)
def job_events(
    job_id: str,
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    stream: bool = False,
) -> dict[str, Any] | StreamingResponse:
    return events_response(_trainer(request).events, owner, job_id, after=after, limit=limit, stream=stream)


@router.get("/{job_id}/checkpoints", summary="A job's checkpoints, newest first")
def job_checkpoints(
    job_id: str,
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    return _trainer(request).checkpoints(owner, job_id, after=after, limit=limit)


@router.get("/{job_id}/adapter", summary="The trained adapter (mlx-lm layout) as a .tar.gz", response_model=None)
def job_adapter(job_id: str, request: Request, owner: Owner) -> FileResponse:
    job = _trainer(request).get(owner, job_id)
    if not job["fine_tuned_model"]:
        raise FailedPrecondition(
            f"Job {job_id} has no adapter yet (status {job['status']})",
            param="fine_tuning_job_id",
            code="adapter_not_ready",
        )
    backends = request.app.state.backends
    adapter = backends.registry.get_adapter(job["fine_tuned_model"], owner=owner)
    path = pack_tar_gz(backends.store, Bucket.ADAPTERS, adapter.job_id, adapter.files, root=f"{job_id}-adapter")
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
def job_loss_chart(job_id: str, request: Request, owner: Owner) -> Response:
    events = list(_trainer(request).events(owner, job_id, after_sequence=0, follow=False))
    png = charts.loss_chart([e for e in events if e["type"] == "metrics"], title=job_id)
    return Response(png, media_type="image/png", headers={"cache-control": "no-cache"})
