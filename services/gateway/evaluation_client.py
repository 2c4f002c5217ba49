"""The gateway's clients of the evaluation and export services (hosted by the trainer), on `grpc.aio`."""

from __future__ import annotations

from typing import Any

from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.evaluation import CreateEval, Eval, JobError
from services.gateway.schemas.export import CreateExport, ModelExport
from services.gateway.trainer_client import STATUS_NAMES, EventStream, call, page, watch
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import evaluation_pb2_grpc, export_pb2_grpc
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.rpc.client import AioChannel
from shared.rpc.messages import from_message, open_data
from shared.schemas.evaluation import EvalSummary, progress_from_message, task_from_message, task_to_message
from shared.schemas.export import options_from_message, options_message, result_from_message


def job_error(error: pb.JobError) -> JobError | None:
    """The error of a failed job, or None."""
    return from_message(JobError, error) if error.code else None


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


class EvaluationClient:
    """Evaluations through the trainer's `EvaluationService`."""

    def __init__(self, channel: AioChannel) -> None:
        self.channel = channel

    @property
    def stub(self) -> evaluation_pb2_grpc.EvaluationServiceStub:
        """The service's stub on this event loop's channel."""
        return self.channel.stub(evaluation_pb2_grpc.EvaluationServiceStub)

    async def create(self, owner: str, body: CreateEval) -> Eval:
        """Check the models, tasks and files, then queue the evaluation."""
        request = epb.CreateEvalRequest(
            owner=owner,
            models=body.models,
            name=body.name or "",
            tasks=[task_to_message(t) for t in body.tasks],
            include_base=body.include_base,
        )
        if body.seed is not None:
            request.seed = body.seed
        return eval_object(await call(self.stub.CreateEval, request, timeout=300))

    async def get(self, owner: str, eval_id: str) -> Eval:
        """One evaluation of the owner."""
        return eval_object(await call(self.stub.GetEval, pb.GetJobRequest(owner=owner, job_id=eval_id)))

    async def list(self, owner: str, *, after: str | None, limit: int) -> ListResponse[Eval]:
        """A page of the owner's evaluations, newest first."""
        response = await call(self.stub.ListEvals, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return page([eval_object(e) for e in response.evals], response.has_more)

    async def cancel(self, owner: str, eval_id: str) -> Eval:
        """Ask a running evaluation to stop after its current task."""
        return eval_object(await call(self.stub.CancelEval, pb.CancelJobRequest(owner=owner, job_id=eval_id)))

    def events(self, owner: str, eval_id: str, *, after_sequence: int, follow: bool) -> EventStream:
        """An evaluation's events from `after_sequence`, following it live with `follow`."""
        return watch(
            self.stub.WatchEval, owner, eval_id, after_sequence=after_sequence, follow=follow, kind="eval.event"
        )

    async def results(self, owner: str, eval_id: str) -> dict[str, Any]:
        """The full report (open data: every task's report on every model, per-item results)."""
        response = await call(self.stub.GetEvalResults, pb.GetJobRequest(owner=owner, job_id=eval_id), timeout=120)
        return open_data(response.results)


class ExportClient:
    """Exports through the trainer's `ExportService`."""

    def __init__(self, channel: AioChannel) -> None:
        self.channel = channel

    @property
    def stub(self) -> export_pb2_grpc.ExportServiceStub:
        """The service's stub on this event loop's channel."""
        return self.channel.stub(export_pb2_grpc.ExportServiceStub)

    async def create(self, owner: str, body: CreateExport) -> ModelExport:
        """Check the adapter, the options and the output name, then queue the export."""
        request = xpb.CreateExportRequest(
            owner=owner, model=body.model, name=body.name or "", options=options_message(body)
        )
        return export_object(await call(self.stub.CreateExport, request))

    async def get(self, owner: str, export_id: str) -> ModelExport:
        """One export of the owner."""
        return export_object(await call(self.stub.GetExport, pb.GetJobRequest(owner=owner, job_id=export_id)))

    async def list(self, owner: str, *, after: str | None, limit: int) -> ListResponse[ModelExport]:
        """A page of the owner's exports, newest first."""
        response = await call(self.stub.ListExports, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return page([export_object(e) for e in response.exports], response.has_more)

    def events(self, owner: str, export_id: str, *, after_sequence: int, follow: bool) -> EventStream:
        """An export's events from `after_sequence`, following it live with `follow`."""
        return watch(
            self.stub.WatchExport,
            owner,
            export_id,
            after_sequence=after_sequence,
            follow=follow,
            kind="model.export.event",
        )
