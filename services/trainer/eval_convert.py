"""Conversions between the evaluation / export contract and their records (tasks travel as typed messages)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.json_format import MessageToDict

from services.trainer.convert import STATUS, error_message
from services.trainer.jobs.evaluations import EvalRequest
from services.trainer.jobs.exports import ExportRequest
from services.trainer.jobs.records import EvalRecord, ExportRecord
from shared.eval_tasks import task_from_message, task_to_message
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb


def eval_request(request: epb.CreateEvalRequest) -> EvalRequest:
    return EvalRequest(
        owner=request.owner,
        models=list(request.models),
        tasks=[task_from_message(t, i) for i, t in enumerate(request.tasks)],
        include_base=request.include_base if request.HasField("include_base") else True,
        seed=request.seed if request.HasField("seed") else None,
        name=request.name or None,
    )


def eval_message(record: EvalRecord) -> epb.Eval:
    return epb.Eval(
        id=record.id,
        owner=record.owner,
        name=record.name or "",
        status=STATUS[record.status],
        models=record.models,
        tasks=[task_to_message(t, i) for i, t in enumerate(record.tasks)],
        seed=record.seed,
        created_at=record.created_at,
        started_at=record.started_at or 0,
        finished_at=record.finished_at or 0,
        error=error_message(record.error),
        done=int(record.progress.get("done", 0)),
        total=int(record.progress.get("total", 0)),
        summary_json=json.dumps(record.summary) if record.summary is not None else "",
    )


def export_request(request: epb.CreateExportRequest) -> ExportRequest:
    options: dict[str, Any] = {"gguf": request.gguf}
    if request.HasField("quantize"):
        options["quantize"] = MessageToDict(request.quantize, preserving_proto_field_name=True)
    if request.dtype:
        options["dtype"] = request.dtype
    return ExportRequest(owner=request.owner, model=request.model, name=request.name or None, options=options)


def export_message(record: ExportRecord) -> epb.Export:
    return epb.Export(
        id=record.id,
        owner=record.owner,
        model=record.model,
        base_model=record.base_model,
        output_model=record.output_model,
        status=STATUS[record.status],
        options_json=json.dumps(record.options),
        created_at=record.created_at,
        started_at=record.started_at or 0,
        finished_at=record.finished_at or 0,
        error=error_message(record.error),
        result_json=json.dumps(record.result) if record.result is not None else "",
    )
