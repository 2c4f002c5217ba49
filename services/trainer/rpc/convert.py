"""The trainer contract's messages <-> the fine-tuning records, by field name (see shared.rpc.messages)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from services.trainer.jobs.records import CheckpointRecord, EventRecord, JobError, JobRecord, JobStatus
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.rpc.messages import enum_number, from_message, to_message

STATUS = {status: pb.JobStatus.Name(enum_number(pb.JobStatus.DESCRIPTOR, status)) for status in JobStatus}


def job_record(request: pb.CreateJobRequest) -> JobRecord:
    """A new job from a create request; unset fields take the record's defaults."""
    return from_message(JobRecord, request)


def error_message(error: JobError | None) -> pb.JobError | None:
    """A job's error as the contract's message."""
    return to_message(pb.JobError, error) if error else None


def job_message(job: JobRecord) -> pb.Job:
    """A job as the contract's message, with its hyperparameters resolved as OpenAI reports them."""
    return to_message(pb.Job, job.model_copy(update={"hyperparameters": job.hyperparameters.resolved()}))


def event_message(event: EventRecord) -> pb.JobEvent:
    """An event of any kind of job as the contract's message."""
    return to_message(pb.JobEvent, event)


def checkpoint_message(job: JobRecord, checkpoint: CheckpointRecord) -> pb.Checkpoint:
    """A checkpoint and the name its adapter is served under; its file list stays inside the trainer."""
    return to_message(
        pb.Checkpoint,
        checkpoint,
        exclude=frozenset({"files"}),
        fine_tuned_model_checkpoint=f"{job.id}:ckpt-step-{checkpoint.step}",
    )


def follow_messages(events: Iterator[EventRecord], context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
    """Job events as messages, until the caller goes away."""
    for event in events:
        if not context.is_active():
            return
        yield event_message(event)
