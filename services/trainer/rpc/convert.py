"""The trainer contracts' messages <-> the job records (fine-tuning by field name: see shared.rpc.messages)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf.struct_pb2 import Struct

from services.trainer.jobs.evaluations import EvalRequest
from services.trainer.jobs.exports import ExportRequest
from services.trainer.jobs.imports import ImportRequest
from services.trainer.jobs.records import CheckpointRecord, EvalRecord, ExportRecord, ImportRecord, JobRecord
from shared.jobs.records import EventRecord, JobError, JobStatus
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.pb.distrust.trainer.v1 import import_pb2 as ipb
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.rpc.messages import enum_number, from_message, to_message
from shared.schemas.evaluation import progress_message, task_from_message, task_to_message
from shared.schemas.export import options_from_message, options_message, result_message
from shared.schemas.model_import import provenance_message

STATUS = {status: pb.JobStatus.Name(enum_number(pb.JobStatus.DESCRIPTOR, status)) for status in JobStatus}


def job_record(request: pb.CreateJobRequest) -> JobRecord:
    """A new job from a create request; unset fields take the record's defaults."""
    return from_message(JobRecord, request)


def error_message(error: JobError | None) -> pb.JobError | None:
    """A job's error as the contract's message."""
    return to_message(pb.JobError, error) if error else None


def job_message(job: JobRecord) -> pb.Job:
    """A job as the contract's message, with its hyperparameters resolved as OpenAI reports them."""
    resolved = job.model_copy(
        update={"hyperparameters": job.hyperparameters.resolved(), "preference": job.preference.resolved()}
    )
    return to_message(pb.Job, resolved, exclude=frozenset({"request_id"}))  # the worker's log context, internal


def event_message(event: EventRecord) -> pb.JobEvent:
    """An event of any kind of job as the contract's message."""
    return to_message(pb.JobEvent, event)


def checkpoint_message(checkpoint: CheckpointRecord) -> pb.Checkpoint:
    """A checkpoint and the name its adapter is served under; its file list stays inside the trainer."""
    return to_message(
        pb.Checkpoint,
        checkpoint,
        exclude=frozenset({"files"}),
        fine_tuned_model_checkpoint=checkpoint.fine_tuned_model_checkpoint,
    )


def follow_messages(events: Iterator[EventRecord], context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
    """Job events as messages, until the caller goes away."""
    for event in events:
        if not context.is_active():
            return
        yield event_message(event)


def struct(data: dict[str, Any]) -> Struct:
    """Open JSON data (a report, a summary) as a Struct."""
    message = Struct()
    message.update(data)
    return message


def eval_request(request: epb.CreateEvalRequest) -> EvalRequest:
    """The evaluation use case's request from the contract's."""
    return EvalRequest(
        owner=request.owner,
        models=list(request.models),
        tasks=[task_from_message(t, i) for i, t in enumerate(request.tasks)],
        include_base=request.include_base if request.HasField("include_base") else True,
        seed=request.seed if request.HasField("seed") else None,
        name=request.name or None,
    )


def eval_message(record: EvalRecord) -> epb.Eval:
    """The contract's Eval from a record."""
    return epb.Eval(
        id=record.id,
        owner=record.owner,
        name=record.name or "",
        status=STATUS[record.status],
        models=record.models,
        tasks=[task_to_message(t) for t in record.tasks],
        seed=record.seed,
        created_at=record.created_at,
        started_at=record.started_at or 0,
        finished_at=record.finished_at or 0,
        error=error_message(record.error),
        progress=progress_message(record.progress),
        summary=struct(record.summary.model_dump()) if record.summary is not None else None,
    )


def results_message(eval_id: str, results: dict[str, Any]) -> epb.EvalResults:
    """The contract's EvalResults: the full report as open data."""
    return epb.EvalResults(eval_id=eval_id, results=struct(results))


def export_request(request: xpb.CreateExportRequest) -> ExportRequest:
    """The export use case's request from the contract's."""
    return ExportRequest(
        owner=request.owner,
        model=request.model,
        name=request.name or None,
        options=options_from_message(request.options),
    )


def export_message(record: ExportRecord) -> xpb.Export:
    """The contract's Export from a record."""
    return xpb.Export(
        id=record.id,
        owner=record.owner,
        model=record.model,
        base_model=record.base_model,
        output_model=record.output_model,
        status=STATUS[record.status],
        options=options_message(record.options),
        created_at=record.created_at,
        started_at=record.started_at or 0,
        finished_at=record.finished_at or 0,
        error=error_message(record.error),
        result=result_message(record.result) if record.result is not None else None,
    )


def import_request(request: ipb.CreateImportRequest) -> ImportRequest:
    """The import use case's request from the contract's."""
    return ImportRequest(
        owner=request.owner,
        file=request.file,
        name=request.name or None,
        quantization=request.quantization,
        public=request.public,
    )


def import_message(record: ImportRecord) -> ipb.Import:
    """The contract's Import from a record."""
    return ipb.Import(
        id=record.id,
        owner=record.owner,
        file=record.file,
        name=record.name,
        quantization=record.quantization,
        public=record.public,
        status=STATUS[record.status],
        created_at=record.created_at,
        started_at=record.started_at or 0,
        finished_at=record.finished_at or 0,
        error=error_message(record.error),
        provenance=provenance_message(record.provenance) if record.provenance is not None else None,
    )
