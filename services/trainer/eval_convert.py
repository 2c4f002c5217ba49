"""Conversions between the evaluation contract and its records; tasks and progress convert through their models."""

from __future__ import annotations

from typing import Any

from google.protobuf.struct_pb2 import Struct

from services.trainer.jobs.evaluations import EvalRequest
from services.trainer.jobs.records import EvalRecord
from services.trainer.rpc.convert import STATUS, error_message
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.schemas.evaluation import progress_message, task_from_message, task_to_message


def struct(data: dict[str, Any]) -> Struct:
    """Open JSON data (a report, a summary) as a Struct."""
    message = Struct()
    message.update(data)
    return message


def eval_request(request: epb.CreateEvalRequest) -> EvalRequest:
    """The use case's request from the contract's."""
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
