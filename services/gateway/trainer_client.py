"""The gateway's client of the trainer service: typed models in and out, typed errors from statuses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.fine_tuning import (
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobError,
    FineTuningJobEvent,
    JobCreate,
    Method,
    SupervisedMethod,
)
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.pb.distrust.trainer.v1 import trainer_pb2_grpc
from shared.rpc.client import call_metadata
from shared.rpc.messages import enum_name, from_message, message_fields, to_message
from shared.rpc.status import error_from_rpc
from shared.schemas.fine_tuning import CheckpointMetrics, DistrustSpec, LoraSpec, ResolvedHyperparameters

STATUS_NAMES = {
    v.number: enum_name(pb.JobStatus.DESCRIPTOR, v.number, field="status") for v in pb.JobStatus.DESCRIPTOR.values
}


def call(fn: Callable[..., Any], request: Any, *, timeout: float | None = 30.0) -> Any:
    """One unary call with the request's metadata; a failed status comes back as the typed error."""
    try:
        return fn(request, timeout=timeout, metadata=call_metadata())
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, service="trainer") from exc


def error_dict(error: pb.JobError) -> dict[str, Any] | None:
    """A job's error as OpenAI's error object (for the evaluation and export clients)."""
    return {"code": error.code, "message": error.message, "param": error.param or None} if error.code else None


def job_object(job: pb.Job) -> FineTuningJob:
    """OpenAI's fine_tuning.job object, plus our `distrust`, `lora`, `step` / `total_steps` fields."""
    hyperparameters = from_message(ResolvedHyperparameters, job.hyperparameters)
    return FineTuningJob(
        id=job.id,
        model=job.model,
        created_at=job.created_at,
        finished_at=job.finished_at or None,
        fine_tuned_model=job.fine_tuned_model or None,
        organization_id=job.owner,
        result_files=list(job.result_files),
        status=STATUS_NAMES[job.status],
        validation_file=job.validation_file or None,
        training_file=job.training_file,
        hyperparameters=hyperparameters,
        trained_tokens=job.trained_tokens or None,
        seed=job.seed,
        suffix=job.suffix or None,
        error=from_message(FineTuningJobError, job.error) if job.error.code else None,
        method=Method(type="supervised", supervised=SupervisedMethod(hyperparameters=hyperparameters)),
        distrust=from_message(DistrustSpec, job.distrust),
        lora=from_message(LoraSpec, job.lora),
        step=job.step,
        total_steps=job.total_steps,
    )


def _integral(value: Any) -> Any:  # open data
    # A Struct carries every number as a double; counts (step, tokens) go back to the ints they were.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def event_object(event: pb.JobEvent, kind: str = "fine_tuning.job.event") -> FineTuningJobEvent:
    """A job's event as OpenAI's event object; `kind` is its `object` (evaluations and exports have their own)."""
    fields = message_fields(event)
    return FineTuningJobEvent.model_validate(
        {**fields, "object": kind, "sequence": event.sequence, "data": _integral(fields.get("data", {}))}
    )


def checkpoint_object(checkpoint: pb.Checkpoint) -> FineTuningJobCheckpoint:
    """A checkpoint as OpenAI's checkpoint object."""
    return FineTuningJobCheckpoint(
        id=checkpoint.id,
        created_at=checkpoint.created_at,
        fine_tuning_job_id=checkpoint.job_id,
        step_number=checkpoint.step,
        fine_tuned_model_checkpoint=checkpoint.fine_tuned_model_checkpoint,
        metrics=from_message(CheckpointMetrics, checkpoint.metrics),
    )


def _page(items: list[Any], has_more: bool) -> ListResponse[Any]:
    return ListResponse(
        data=items, has_more=has_more, first_id=items[0].id if items else None, last_id=items[-1].id if items else None
    )


class TrainerClient:
    """Fine-tuning jobs on the trainer service."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = trainer_pb2_grpc.TrainerServiceStub(channel)  # type: ignore[no-untyped-call]  # generated stub

    def create(self, owner: str, job: JobCreate) -> FineTuningJob:
        """Validate and queue a job."""
        request = to_message(pb.CreateJobRequest, job, owner=owner)
        return job_object(call(self.stub.CreateJob, request, timeout=300))

    def get(self, owner: str, job_id: str) -> FineTuningJob:
        """One of the owner's jobs."""
        return job_object(call(self.stub.GetJob, pb.GetJobRequest(owner=owner, job_id=job_id)))

    def list(self, owner: str, *, after: str | None, limit: int) -> ListResponse[FineTuningJob]:
        """A page of the owner's jobs, newest first."""
        response = call(self.stub.ListJobs, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return _page([job_object(j) for j in response.jobs], response.has_more)

    def cancel(self, owner: str, job_id: str) -> FineTuningJob:
        """Ask a job to stop."""
        return job_object(call(self.stub.CancelJob, pb.CancelJobRequest(owner=owner, job_id=job_id)))

    def events(self, owner: str, job_id: str, *, after_sequence: int, follow: bool) -> Iterator[FineTuningJobEvent]:
        """A job's events from `after_sequence`, following it live with `follow`."""
        return watch(self.stub.WatchJob, owner, job_id, after_sequence=after_sequence, follow=follow)

    def checkpoints(
        self, owner: str, job_id: str, *, after: str | None, limit: int
    ) -> ListResponse[FineTuningJobCheckpoint]:
        """A page of a job's checkpoints, newest first."""
        response = call(
            self.stub.ListCheckpoints,
            pb.ListCheckpointsRequest(owner=owner, job_id=job_id, after=after or "", limit=limit),
        )
        return _page([checkpoint_object(c) for c in response.checkpoints], response.has_more)


def watch(
    method: Callable[..., Iterator[pb.JobEvent]],
    owner: str,
    job_id: str,
    *,
    after_sequence: int,
    follow: bool,
    kind: str = "fine_tuning.job.event",
) -> Iterator[FineTuningJobEvent]:
    """A job's events from a Watch* RPC; errors come back typed."""
    request = pb.WatchJobRequest(owner=owner, job_id=job_id, after_sequence=after_sequence, follow=follow)
    try:
        for event in method(request, metadata=call_metadata()):
            yield event_object(event, kind)
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, service="trainer") from exc
