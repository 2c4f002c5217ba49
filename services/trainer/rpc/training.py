"""The servicer of `TrainerService` (fine-tuning jobs): convert, call one use case, convert back."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from services.trainer.jobs.service import JobService
from services.trainer.rpc import convert
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.pb.distrust.trainer.v1 import trainer_pb2_grpc


class TrainerServicer(trainer_pb2_grpc.TrainerServiceServicer):
    """Fine-tuning jobs: created, read, listed, cancelled, paused, resumed and watched, on the trainer's workers."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    def CreateJob(self, request: pb.CreateJobRequest, _context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.create(convert.job_record(request)))

    def GetJob(self, request: pb.GetJobRequest, _context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.get(request.owner, request.job_id))

    def ListJobs(self, request: pb.ListJobsRequest, _context: grpc.ServicerContext) -> pb.ListJobsResponse:
        jobs, has_more = self.jobs.list(request.owner, after=request.after or None, limit=request.limit or 20)
        return pb.ListJobsResponse(jobs=[convert.job_message(j) for j in jobs], has_more=has_more)

    def CancelJob(self, request: pb.CancelJobRequest, _context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.cancel(request.owner, request.job_id))

    def PauseJob(self, request: pb.PauseJobRequest, _context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.pause(request.owner, request.job_id))

    def ResumeJob(self, request: pb.ResumeJobRequest, _context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.resume(request.owner, request.job_id))

    def WatchJob(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        yield from convert.follow_messages(
            self.jobs.events(
                request.owner, request.job_id, after_sequence=request.after_sequence, follow=request.follow
            ),
            context,
        )

    def ListCheckpoints(
        self, request: pb.ListCheckpointsRequest, _context: grpc.ServicerContext
    ) -> pb.ListCheckpointsResponse:
        checkpoints, has_more = self.jobs.checkpoints(
            request.owner, request.job_id, after=request.after or None, limit=request.limit or 10
        )
        return pb.ListCheckpointsResponse(
            checkpoints=[convert.checkpoint_message(c) for c in checkpoints], has_more=has_more
        )
