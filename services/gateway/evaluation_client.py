"""The gateway's clients of the evaluation and export services (hosted by the trainer): typed objects in and out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct

from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.evaluation import CreateEval, Eval, JobError
from services.gateway.schemas.export import CreateExport, ModelExport
from services.gateway.schemas.fine_tuning import FineTuningJobEvent
from services.gateway.trainer_client import STATUS_NAMES, call, watch
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import evaluation_pb2_grpc, export_pb2_grpc
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.schemas.evaluation import EvalSummary, progress_from_message, task_from_message, task_to_message
from shared.schemas.export import options_from_message, options_message, result_from_message


def open_data(message: Struct) -> dict[str, Any]:
    """A Struct as plain JSON data; whole numbers come back as ints."""
    data: dict[str, Any] = _whole_numbers(MessageToDict(message))
    return data


def _whole_numbers(value: Any) -> Any:
    # A Struct holds every number as a double: 3 would come back as 3.0 (and show as "n=3.0" in a chart).
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def job_error(error: pb.JobError) -> JobError | None:
    """The error of a failed job, or None."""
    return JobError(code=error.code, message=error.message, param=error.param or None) if error.code else None


def eval_object(message: epb.Eval) -> Eval:
    """The HTTP object of an evaluation."""
    return Eval(
        id=message.id,
        name=message.name or None,
        status=STATUS_NAMES[message.status],
        models=list(message.models),
        tasks=[task_from_message(t, i) for i, t in enumerate(message.tasks)],
        seed=message.seed,
        created_at=message.created_at,
        started_at=message.started_at or None,
        finished_at=message.finished_at or None,
        error=job_error(message.error),
        progress=progress_from_message(message.progress),
        summary=EvalSummary.model_validate(open_data(message.summary)) if message.HasField("summary") else None,
    )


def export_object(message: xpb.Export) -> ModelExport:
    """The HTTP object of an export."""
    return ModelExport(
        id=message.id,
        model=message.model,
        base_model=message.base_model,
        output_model=message.output_model,
        status=STATUS_NAMES[message.status],
        options=options_from_message(message.options),
        created_at=message.created_at,
        started_at=message.started_at or None,
        finished_at=message.finished_at or None,
        error=job_error(message.error),
        result=result_from_message(message.result) if message.HasField("result") else None,
    )


def _page(items: list[Any], has_more: bool) -> dict[str, Any]:
    return {
        "data": items,
        "has_more": has_more,
        "first_id": items[0].id if items else None,
        "last_id": items[-1].id if items else None,
    }


class EvaluationClient:
    """Evaluations through the trainer's `EvaluationService`."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)  # type: ignore[no-untyped-call]  # generated, no .pyi

    def create(self, owner: str, body: CreateEval) -> Eval:
        request = epb.CreateEvalRequest(
            owner=owner,
            models=body.models,
            name=body.name or "",
            tasks=[task_to_message(t) for t in body.tasks],
            include_base=body.include_base,
        )
        if body.seed is not None:
            request.seed = body.seed
        return eval_object(call(self.stub.CreateEval, request, timeout=300))

    def get(self, owner: str, eval_id: str) -> Eval:
        return eval_object(call(self.stub.GetEval, pb.GetJobRequest(owner=owner, job_id=eval_id)))

    def list(self, owner: str, *, after: str | None, limit: int) -> ListResponse[Eval]:
        response = call(self.stub.ListEvals, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return ListResponse[Eval](**_page([eval_object(e) for e in response.evals], response.has_more))

    def cancel(self, owner: str, eval_id: str) -> Eval:
        return eval_object(call(self.stub.CancelEval, pb.CancelJobRequest(owner=owner, job_id=eval_id)))

    def events(self, owner: str, eval_id: str, *, after_sequence: int, follow: bool) -> Iterator[FineTuningJobEvent]:
        return watch(
            self.stub.WatchEval, owner, eval_id, after_sequence=after_sequence, follow=follow, kind="eval.event"
        )

    def results(self, owner: str, eval_id: str) -> dict[str, Any]:
        """The full report (open data: every task's report on every model, per-item results)."""
        response = call(self.stub.GetEvalResults, pb.GetJobRequest(owner=owner, job_id=eval_id), timeout=120)
        return open_data(response.results)


class ExportClient:
    """Exports through the trainer's `ExportService`."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = export_pb2_grpc.ExportServiceStub(channel)  # type: ignore[no-untyped-call]  # generated, no .pyi

    def create(self, owner: str, body: CreateExport) -> ModelExport:
        request = xpb.CreateExportRequest(
            owner=owner, model=body.model, name=body.name or "", options=options_message(body)
        )
        return export_object(call(self.stub.CreateExport, request))

    def get(self, owner: str, export_id: str) -> ModelExport:
        return export_object(call(self.stub.GetExport, pb.GetJobRequest(owner=owner, job_id=export_id)))

    def list(self, owner: str, *, after: str | None, limit: int) -> ListResponse[ModelExport]:
        response = call(self.stub.ListExports, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return ListResponse[ModelExport](**_page([export_object(e) for e in response.exports], response.has_more))

    def events(self, owner: str, export_id: str, *, after_sequence: int, follow: bool) -> Iterator[FineTuningJobEvent]:
        return watch(
            self.stub.WatchExport,
            owner,
            export_id,
            after_sequence=after_sequence,
            follow=follow,
            kind="model.export.event",
        )
