"""The servicer of `EvaluationService`: convert, call one use case, convert back."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from services.trainer.jobs.evaluations import EvalService
from services.trainer.rpc import convert
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import evaluation_pb2_grpc
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb


class EvaluationServicer(evaluation_pb2_grpc.EvaluationServiceServicer):
    """Evaluations of several models side by side, on the trainer's workers."""

    def __init__(self, evals: EvalService) -> None:
        self.evals = evals

    def CreateEval(self, request: epb.CreateEvalRequest, _context: grpc.ServicerContext) -> epb.Eval:
        return convert.eval_message(self.evals.create(convert.eval_request(request)))

    def GetEval(self, request: pb.GetJobRequest, _context: grpc.ServicerContext) -> epb.Eval:
        return convert.eval_message(self.evals.get(request.owner, request.job_id))

    def ListEvals(self, request: pb.ListJobsRequest, _context: grpc.ServicerContext) -> epb.ListEvalsResponse:
        evals, has_more = self.evals.list(request.owner, after=request.after or None, limit=request.limit or 20)
        return epb.ListEvalsResponse(evals=[convert.eval_message(e) for e in evals], has_more=has_more)

    def CancelEval(self, request: pb.CancelJobRequest, _context: grpc.ServicerContext) -> epb.Eval:
        return convert.eval_message(self.evals.cancel(request.owner, request.job_id))

    def WatchEval(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        yield from convert.follow_messages(
            self.evals.events(
                request.owner, request.job_id, after_sequence=request.after_sequence, follow=request.follow
            ),
            context,
        )

    def GetEvalResults(self, request: pb.GetJobRequest, _context: grpc.ServicerContext) -> epb.EvalResults:
        return convert.results_message(request.job_id, self.evals.results(request.owner, request.job_id))
