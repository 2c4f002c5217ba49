"""Conversions between the trainer contract's messages and the job records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc

from services.trainer.jobs import spec
from services.trainer.jobs.records import CheckpointRecord, JobRecord
from services.trainer.jobs.service import JobRequest
from shared.errors import invalid_field
from shared.jobs.records import EventRecord, JobError, JobStatus
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb

MODES = {
    pb.DISTRUST_MODE_UNSPECIFIED: None,
    pb.DISTRUST_MODE_WEIGHTED: "weighted",
    pb.DISTRUST_MODE_ADDITIVE: "additive",
    pb.DISTRUST_MODE_NONE: "none",
}
WEIGHTINGS = {pb.WEIGHTING_UNSPECIFIED: None, pb.WEIGHTING_PLAIN: "plain", pb.WEIGHTING_MONOTONE: "monotone"}
STATUS = {s: getattr(pb, f"JOB_STATUS_{s.name}") for s in JobStatus}


def _set_fields(message: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(message, name) for name in names if message.HasField(name)}


def job_request(request: pb.CreateJobRequest) -> JobRequest:
    if request.distrust.mode not in MODES:
        raise invalid_field("distrust.mode", request.distrust.mode, "weighted, additive or none")
    if request.distrust.weighting not in WEIGHTINGS:
        raise invalid_field("distrust.weighting", request.distrust.weighting, "plain or monotone")
    distrust = {
        "mode": MODES[request.distrust.mode] or "weighted",
        **_set_fields(request.distrust, ("alpha", "lambda", "weight_min", "weight_max")),
    }
    if WEIGHTINGS[request.distrust.weighting]:
        distrust["weighting"] = WEIGHTINGS[request.distrust.weighting]
    lora = _set_fields(request.lora, ("rank", "alpha", "layers"))
    if request.lora.keys:
        lora["keys"] = list(request.lora.keys)
    return JobRequest(
        owner=request.owner,
        model=request.model,
        training_file=request.training_file,
        validation_file=request.validation_file or None,
        suffix=request.suffix or None,
        seed=request.seed if request.HasField("seed") else None,
        hyperparameters=_set_fields(request.hyperparameters, spec.HYPERPARAMETERS),
        distrust=distrust,
        lora=lora,
    )


def error_message(error: JobError | None) -> pb.JobError | None:
    return pb.JobError(code=error.code, message=error.message, param=error.param or "") if error else None


def job_message(job: JobRecord) -> pb.Job:
    hp = spec.resolved_hyperparameters(job.hyperparameters)
    mode = {v: k for k, v in MODES.items() if v}[job.distrust.get("mode", "weighted")]
    weighting = {v: k for k, v in WEIGHTINGS.items() if v}.get(job.distrust.get("weighting", "plain"), 0)
    return pb.Job(
        id=job.id,
        owner=job.owner,
        model=job.model,
        training_file=job.training_file,
        validation_file=job.validation_file or "",
        suffix=job.suffix or "",
        seed=job.seed,
        status=STATUS[job.status],
        hyperparameters=pb.Hyperparameters(**{k: v for k, v in hp.items() if k in spec.HYPERPARAMETERS}),
        distrust=pb.DistrustConfig(
            mode=mode,
            weighting=weighting,
            **{k: v for k, v in job.distrust.items() if k in ("alpha", "lambda", "weight_min", "weight_max")},
        ),
        lora=pb.LoraConfig(**{k: v for k, v in job.lora.items() if k in ("rank", "alpha", "layers", "keys")}),
        fine_tuned_model=job.fine_tuned_model or "",
        created_at=job.created_at,
        started_at=job.started_at or 0,
        finished_at=job.finished_at or 0,
        trained_tokens=job.trained_tokens,
        error=error_message(job.error),
        result_files=job.result_files,
        step=job.step,
        total_steps=job.total_steps,
    )


def event_message(event: EventRecord) -> pb.JobEvent:
    return pb.JobEvent(
        id=event.id,
        sequence=event.sequence,
        created_at=event.created_at,
        level=event.level,
        message=event.message,
        type=event.type,
        data_json=json.dumps(event.data),
        status=STATUS[event.status] if event.status else pb.JOB_STATUS_UNSPECIFIED,
    )


def checkpoint_message(job: JobRecord, checkpoint: CheckpointRecord) -> pb.Checkpoint:
    return pb.Checkpoint(
        id=checkpoint.id,
        job_id=checkpoint.job_id,
        step=checkpoint.step,
        created_at=checkpoint.created_at,
        metrics_json=json.dumps(checkpoint.metrics),
        storage_prefix=checkpoint.storage_prefix,
        fine_tuned_model_checkpoint=f"{job.id}:ckpt-step-{checkpoint.step}",
    )


def follow_messages(events: Iterator[EventRecord], context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
    """Job events as messages, until the caller goes away."""
    for event in events:
        if not context.is_active():
            return
        yield event_message(event)
