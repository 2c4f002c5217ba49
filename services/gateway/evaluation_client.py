"""The gateway's client of the evaluation and export services (hosted by the trainer): dicts in and out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc

from services.gateway.trainer_client import STATUS_NAMES, call, error_dict, watch
from shared.eval_tasks import task_from_message, task_to_message
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import evaluation_pb2_grpc
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb


def eval_dict(message: epb.Eval) -> dict[str, Any]:
    return {
        "id": message.id,
        "object": "eval",
        "name": message.name or None,
        "status": STATUS_NAMES[message.status],
        "models": list(message.models),
        "tasks": [task_from_message(t, i) for i, t in enumerate(message.tasks)],
        "seed": message.seed,
        "created_at": message.created_at,
        "started_at": message.started_at or None,
        "finished_at": message.finished_at or None,
        "error": error_dict(message.error),
        "progress": {"done": message.done, "total": message.total},
        "summary": json.loads(message.summary_json) if message.summary_json else None,
    }


def export_dict(message: epb.Export) -> dict[str, Any]:
    return {
        "id": message.id,
        "object": "model.export",
        "model": message.model,
        "base_model": message.base_model,
        "output_model": message.output_model,
        "status": STATUS_NAMES[message.status],
        "options": json.loads(message.options_json or "{}"),
        "created_at": message.created_at,
        "started_at": message.started_at or None,
        "finished_at": message.finished_at or None,
        "error": error_dict(message.error),
        "result": json.loads(message.result_json) if message.result_json else None,
    }


class EvaluationClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)

    def create(self, owner: str, body: dict[str, Any]) -> dict[str, Any]:
        request = epb.CreateEvalRequest(
            owner=owner,
            models=body["models"],
            name=body.get("name") or "",
            tasks=[task_to_message(t, i) for i, t in enumerate(body["tasks"])],
        )
        if body.get("include_base") is not None:
            request.include_base = body["include_base"]
        if body.get("seed") is not None:
            request.seed = body["seed"]
        return eval_dict(call(self.stub.CreateEval, request, timeout=300))

    def get(self, owner: str, eval_id: str) -> dict[str, Any]:
        return eval_dict(call(self.stub.GetEval, pb.GetJobRequest(owner=owner, job_id=eval_id)))

    def list(self, owner: str, *, after: str | None, limit: int) -> dict[str, Any]:
        response = call(self.stub.ListEvals, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return {"object": "list", "data": [eval_dict(e) for e in response.evals], "has_more": response.has_more}

    def cancel(self, owner: str, eval_id: str) -> dict[str, Any]:
        return eval_dict(call(self.stub.CancelEval, pb.CancelJobRequest(owner=owner, job_id=eval_id)))

    def events(self, owner: str, eval_id: str, *, after_sequence: int, follow: bool) -> Iterator[dict[str, Any]]:
        return watch(
            self.stub.WatchEval, owner, eval_id, after_sequence=after_sequence, follow=follow, kind="eval.event"
        )

    def results(self, owner: str, eval_id: str) -> dict[str, Any]:
        response = call(self.stub.GetEvalResults, pb.GetJobRequest(owner=owner, job_id=eval_id), timeout=120)
        return json.loads(response.results_json)


class ExportClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = evaluation_pb2_grpc.ExportServiceStub(channel)

    def create(self, owner: str, body: dict[str, Any]) -> dict[str, Any]:
        request = epb.CreateExportRequest(
            owner=owner,
            model=body["model"],
            name=body.get("name") or "",
            gguf=bool(body.get("gguf")),
            dtype=body.get("dtype") or "",
        )
        if body.get("quantize"):
            request.quantize.CopyFrom(epb.QuantizeConfig(**body["quantize"]))
        return export_dict(call(self.stub.CreateExport, request))

    def get(self, owner: str, export_id: str) -> dict[str, Any]:
        return export_dict(call(self.stub.GetExport, pb.GetJobRequest(owner=owner, job_id=export_id)))

    def list(self, owner: str, *, after: str | None, limit: int) -> dict[str, Any]:
        response = call(self.stub.ListExports, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return {"object": "list", "data": [export_dict(e) for e in response.exports], "has_more": response.has_more}

    def events(self, owner: str, export_id: str, *, after_sequence: int, follow: bool) -> Iterator[dict[str, Any]]:
        return watch(
            self.stub.WatchExport,
            owner,
            export_id,
            after_sequence=after_sequence,
            follow=follow,
            kind="model.export.event",
        )
