"""The servicers of `EvaluationService` and `ExportService`: convert, call one use case, convert back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc

from services.trainer import convert, eval_convert
from services.trainer.jobs.evaluations import EvalService
from services.trainer.jobs.exports import ExportService
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import evaluation_pb2_grpc
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb


class EvaluationServicer(evaluation_pb2_grpc.EvaluationServiceServicer):
    def __init__(self, evals: EvalService) -> None:
        self.evals = evals

    def CreateEval(self, request: epb.CreateEvalRequest, context: grpc.ServicerContext) -> epb.Eval:
        return eval_convert.eval_message(self.evals.create(eval_convert.eval_request(request)))

    def GetEval(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> epb.Eval:
        return eval_convert.eval_message(self.evals.get(request.owner, request.job_id))

    def ListEvals(self, request: pb.ListJobsRequest, context: grpc.ServicerContext) -> epb.ListEvalsResponse:
        evals, has_more = self.evals.list(request.owner, after=request.after or None, limit=request.limit or 20)
        return epb.ListEvalsResponse(evals=[eval_convert.eval_message(e) for e in evals], has_more=has_more)

    def CancelEval(self, request: pb.CancelJobRequest, context: grpc.ServicerContext) -> epb.Eval:
        return eval_convert.eval_message(self.evals.cancel(request.owner, request.job_id))

    def WatchEval(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        yield from convert.follow_messages(
            self.evals.events(
                request.owner, request.job_id, after_sequence=request.after_sequence, follow=request.follow
            ),
            context,
        )

    def GetEvalResults(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> epb.EvalResults:
        return epb.EvalResults(
            eval_id=request.job_id, results_json=json.dumps(self.evals.results(request.owner, request.job_id))
        )


class ExportServicer(evaluation_pb2_grpc.ExportServiceServicer):
    def __init__(self, exports: ExportService) -> None:
        self.exports = exports

    def CreateExport(self, request: epb.CreateExportRequest, context: grpc.ServicerContext) -> epb.Export:
        return eval_convert.export_message(self.exports.create(eval_convert.export_request(request)))

    def GetExport(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> epb.Export:
        return eval_convert.export_message(self.exports.get(request.owner, request.job_id))

    def ListExports(self, request: pb.ListJobsRequest, context: grpc.ServicerContext) -> epb.ListExportsResponse:
        exports, has_more = self.exports.list(request.owner, after=request.after or None, limit=request.limit or 20)
        return epb.ListExportsResponse(exports=[eval_convert.export_message(e) for e in exports], has_more=has_more)

    def WatchExport(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        yield from convert.follow_messages(
            self.exports.events(
                request.owner, request.job_id, after_sequence=request.after_sequence, follow=request.follow
            ),
            context,
        )
