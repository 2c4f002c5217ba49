"""The trainer gRPC server: contract `distrust.trainer.v1.TrainerService`. Converts, calls the job service."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc

from services.trainer import convert
from services.trainer.config import TrainerSettings
from services.trainer.jobs.memory import request_memory_check
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.reaper import Reaper
from services.trainer.jobs.service import JobService
from services.trainer.jobs.store import JobStore
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.model_registry import ModelRegistry
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.pb.distrust.trainer.v1 import trainer_pb2_grpc
from shared.redis_store import connect
from shared.rpc.server import RunningServer, start_server
from shared.storage import ObjectStore

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrainerService"].full_name


class TrainerServicer(trainer_pb2_grpc.TrainerServiceServicer):
    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    def CreateJob(self, request: pb.CreateJobRequest, context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.create(convert.job_request(request)))

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.get(request.owner, request.job_id))

    def ListJobs(self, request: pb.ListJobsRequest, context: grpc.ServicerContext) -> pb.ListJobsResponse:
        jobs, has_more = self.jobs.list(request.owner, after=request.after or None, limit=request.limit or 20)
        return pb.ListJobsResponse(jobs=[convert.job_message(j) for j in jobs], has_more=has_more)

    def CancelJob(self, request: pb.CancelJobRequest, context: grpc.ServicerContext) -> pb.Job:
        return convert.job_message(self.jobs.cancel(request.owner, request.job_id))

    def WatchJob(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        for event in self.jobs.events(request.owner, request.job_id, after_sequence=request.after_sequence,
                                      follow=request.follow):
            if not context.is_active():
                return
            yield convert.event_message(event)

    def ListCheckpoints(self, request: pb.ListCheckpointsRequest,
                        context: grpc.ServicerContext) -> pb.ListCheckpointsResponse:
        job = self.jobs.get(request.owner, request.job_id)
        checkpoints = sorted(self.jobs.checkpoints(request.owner, request.job_id), key=lambda c: -c.step)
        if request.after:
            ids = [c.id for c in checkpoints]
            checkpoints = checkpoints[ids.index(request.after) + 1:] if request.after in ids else []
        limit = request.limit or 10
        return pb.ListCheckpointsResponse(checkpoints=[convert.checkpoint_message(job, c) for c in checkpoints[:limit]],
                                          has_more=len(checkpoints) > limit)


def celery_enqueue(redis_url: str) -> Callable[[str], None]:
    from services.trainer.worker import QUEUE, TRAIN_TASK, create_celery

    app = create_celery(redis_url)
    return lambda job_id: app.send_task(TRAIN_TASK, args=[job_id], queue=QUEUE)


def start(settings: TrainerSettings, *, enqueue: Callable[[str], None] | None = None) -> RunningServer:
    client = connect(settings.redis)
    objects = ObjectStore(settings.storage)
    files = FileService(objects, FileRepository(client), max_bytes=1 << 40)
    store = JobStore(client)
    enqueue = enqueue or celery_enqueue(settings.redis.url.get_secret_value())
    sources = ModelSources(ModelRegistry(client, objects), allow_local=settings.allow_local_models,
                           allow_hub=settings.allow_hub_models)
    jobs = JobService(store, files, sources, enqueue, memory_check=request_memory_check(sources, settings.memory_budget_gb))
    reaper = Reaper(store, enqueue, settings.reaper_interval_s)

    def register(server: grpc.Server) -> None:
        trainer_pb2_grpc.add_TrainerServiceServicer_to_server(TrainerServicer(jobs), server)

    running = start_server(host=settings.host, port=settings.port, port_setting="DISTRUST_TRAINER_PORT",
                           register=register, service_names=[SERVICE_NAME], max_workers=settings.max_workers)
    reaper.start()
    running.on_stop.append(reaper.stop)
    return running
