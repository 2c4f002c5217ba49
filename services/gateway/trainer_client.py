"""The gateway's client of the trainer service, on `grpc.aio`: typed models in and out, typed errors from statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar

import grpc
from google.protobuf.message import Message

from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.fine_tuning import (
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobError,
    FineTuningJobEvent,
    JobCreate,
    Method,
)
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.pb.distrust.trainer.v1 import trainer_pb2_grpc
from shared.rpc.client import AioChannel, call_metadata
from shared.rpc.messages import enum_name, from_message, message_fields, open_data, to_message
from shared.rpc.status import error_from_rpc
from shared.schemas.alias_gate import AliasGate
from shared.schemas.distributed import DistributedSpec
from shared.schemas.fine_tuning import (
    CheckpointMetrics,
    DistrustSpec,
    LoraSpec,
    PreferenceSpec,
    ResolvedHyperparameters,
)

R = TypeVar("R", bound=Message)
Item = TypeVar("Item", bound="HasId")
STATUS_NAMES = {
    v.number: enum_name(pb.JobStatus.DESCRIPTOR, v.number, field="status") for v in pb.JobStatus.DESCRIPTOR.values
}


class HasId(Protocol):
    """Anything listed in a page: it has an id."""

    @property
    def id(self) -> str: ...


async def call(method: Callable[..., Awaitable[R]], request: Message, *, timeout: float = 30.0) -> R:
    """One unary call with the request's metadata; a failed status comes back as the typed error."""
    try:
        return await method(request, timeout=timeout, metadata=call_metadata())
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, service="trainer") from exc


def page(items: list[Item], has_more: bool) -> ListResponse[Item]:
    """OpenAI's list envelope around one page of items."""
    return ListResponse(
        data=items, has_more=has_more, first_id=items[0].id if items else None, last_id=items[-1].id if items else None
    )


class EventStream:
    """A job's events from a Watch* call; `cancel()` ends the call on the service (a no-op once it has ended)."""

    def __init__(self, call: grpc.aio.UnaryStreamCall, kind: str) -> None:
        self._call = call
        self._kind = kind
        self._events = self._read()

    async def _read(self) -> AsyncIterator[FineTuningJobEvent]:
        try:
            async for event in self._call:
                yield event_object(event, self._kind)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="trainer") from exc

    def __aiter__(self) -> AsyncIterator[FineTuningJobEvent]:
        return self._events

    async def first(self) -> FineTuningJobEvent | None:
        """The next event (the first, on a fresh stream), or None when the stream has ended."""
        return await anext(self._events, None)

    async def collect(self) -> list[FineTuningJobEvent]:
        """Every remaining event, then the call is over."""
        try:
            return [event async for event in self._events]
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop the call on the service."""
        self._call.cancel()


def watch(
    method: Callable[..., grpc.aio.UnaryStreamCall],
    owner: str,
    job_id: str,
    *,
    after_sequence: int,
    follow: bool,
    kind: str = "fine_tuning.job.event",
) -> EventStream:
    """A job's events from a Watch* RPC of any kind of job; `kind` is each event's `object`."""
    request = pb.WatchJobRequest(owner=owner, job_id=job_id, after_sequence=after_sequence, follow=follow)
    return EventStream(method(request, metadata=call_metadata()), kind)


def job_method(job: pb.Job, hyperparameters: ResolvedHyperparameters) -> tuple[Method, PreferenceSpec | None]:
    """OpenAI's `method`, echoing the resolved hyperparameters (a DPO job's with `beta`), and a DPO job's spec."""
    kind = enum_name(pb.TrainingMethod.DESCRIPTOR, job.method, field="method") or "supervised"
    if kind == "supervised":
        return Method.model_validate({"type": kind, kind: {"hyperparameters": hyperparameters}}), None
    preference = from_message(PreferenceSpec, job.preference)
    values = {**hyperparameters.model_dump(), "beta": preference.beta}
    return Method.model_validate({"type": kind, kind: {"hyperparameters": values}}), preference


def job_object(job: pb.Job) -> FineTuningJob:
    """OpenAI's fine_tuning.job object, plus our `distrust`, `lora`, `preference`, `step` / `total_steps` fields."""
    hyperparameters = from_message(ResolvedHyperparameters, job.hyperparameters)
    method, preference = job_method(job, hyperparameters)
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
        method=method,
        distrust=from_message(DistrustSpec, job.distrust),
        lora=from_message(LoraSpec, job.lora),
        preference=preference,
        alias=job.alias or None,
        distributed=from_message(DistributedSpec, job.distributed) if job.HasField("distributed") else None,
        attempt=job.attempt,
        queue=job.queue or None,
        memory_estimate_bytes=job.memory_estimate_bytes or None,
        alias_gate=from_message(AliasGate, job.alias_gate) if job.HasField("alias_gate") else None,
        step=job.step,
        total_steps=job.total_steps,
    )


def event_object(event: pb.JobEvent, kind: str = "fine_tuning.job.event") -> FineTuningJobEvent:
    """A job's event as OpenAI's event object; `kind` is its `object` (evaluations and exports have their own)."""
    fields = message_fields(event)
    return FineTuningJobEvent.model_validate(
        {**fields, "object": kind, "sequence": event.sequence, "data": open_data(event.data)}
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


class TrainerClient:
    """Fine-tuning jobs on the trainer service."""

    def __init__(self, channel: AioChannel) -> None:
        self.channel = channel

    @property
    def stub(self) -> trainer_pb2_grpc.TrainerServiceStub:
        """The service's stub on this event loop's channel."""
        return self.channel.stub(trainer_pb2_grpc.TrainerServiceStub)

    async def create(self, owner: str, job: JobCreate) -> FineTuningJob:
        """Validate and queue a job."""
        request = to_message(pb.CreateJobRequest, job, owner=owner)
        return job_object(await call(self.stub.CreateJob, request, timeout=300))

    async def get(self, owner: str, job_id: str) -> FineTuningJob:
        """One of the owner's jobs."""
        return job_object(await call(self.stub.GetJob, pb.GetJobRequest(owner=owner, job_id=job_id)))

    async def list(self, owner: str, *, after: str | None, limit: int) -> ListResponse[FineTuningJob]:
        """A page of the owner's jobs, newest first."""
        response = await call(self.stub.ListJobs, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return page([job_object(j) for j in response.jobs], response.has_more)

    async def cancel(self, owner: str, job_id: str) -> FineTuningJob:
        """Ask a job to stop."""
        return job_object(await call(self.stub.CancelJob, pb.CancelJobRequest(owner=owner, job_id=job_id)))

    async def pause(self, owner: str, job_id: str) -> FineTuningJob:
        """Ask a job to pause with a checkpoint."""
        return job_object(await call(self.stub.PauseJob, pb.PauseJobRequest(owner=owner, job_id=job_id)))

    async def resume(self, owner: str, job_id: str) -> FineTuningJob:
        """Queue a paused job again."""
        return job_object(await call(self.stub.ResumeJob, pb.ResumeJobRequest(owner=owner, job_id=job_id)))

    def events(self, owner: str, job_id: str, *, after_sequence: int, follow: bool) -> EventStream:
        """A job's events from `after_sequence`, following it live with `follow`."""
        return watch(self.stub.WatchJob, owner, job_id, after_sequence=after_sequence, follow=follow)

    async def checkpoints(
        self, owner: str, job_id: str, *, after: str | None, limit: int
    ) -> ListResponse[FineTuningJobCheckpoint]:
        """A page of a job's checkpoints, newest first."""
        request = pb.ListCheckpointsRequest(owner=owner, job_id=job_id, after=after or "", limit=limit)
        response = await call(self.stub.ListCheckpoints, request)
        return page([checkpoint_object(c) for c in response.checkpoints], response.has_more)
