"""The trainer process: its gRPC services (servicers in services.trainer.rpc) on one port, queues and reaper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc

from services.trainer.config import TrainerSettings
from services.trainer.jobs.evaluations import EvalService
from services.trainer.jobs.exports import ExportService
from services.trainer.jobs.imports import ImportService
from services.trainer.jobs.kinds import EVALUATION, EXPORT, IMPORT, FineTuningStore
from services.trainer.jobs.memory import budget_bytes, request_memory_check
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.service import JobService
from services.trainer.rpc.evaluation import EvaluationServicer
from services.trainer.rpc.export import ExportServicer
from services.trainer.rpc.hardware import HardwareServicer
from services.trainer.rpc.imports import ImportServicer
from services.trainer.rpc.training import TrainerServicer
from services.trainer.system.board import HardwareBoard
from services.trainer.system.fleet import Fleet
from services.trainer.system.placement import send_placed
from services.trainer.system.snapshot import take_snapshot
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs.reaper import Reaper
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import (
    evaluation_pb2_grpc,
    export_pb2_grpc,
    hardware_pb2_grpc,
    import_pb2_grpc,
    trainer_pb2_grpc,
)
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.pb.distrust.trainer.v1 import hardware_pb2 as hpb
from shared.pb.distrust.trainer.v1 import import_pb2 as ipb
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.redis_store import connect
from shared.rpc.server import RunningServer, start_server
from shared.storage import ObjectStore

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrainerService"].full_name
EVAL_SERVICE_NAME = epb.DESCRIPTOR.services_by_name["EvaluationService"].full_name
EXPORT_SERVICE_NAME = xpb.DESCRIPTOR.services_by_name["ExportService"].full_name
IMPORT_SERVICE_NAME = ipb.DESCRIPTOR.services_by_name["ImportService"].full_name
HARDWARE_SERVICE_NAME = hpb.DESCRIPTOR.services_by_name["HardwareService"].full_name


def celery_enqueue(
    redis_url: str, task: str | None = None, *, placed_by: FineTuningStore | None = None
) -> Callable[[str], None]:
    """A function that queues a job id as a Celery task (the training task by default).

    With `placed_by`, each job goes to the queue its record was placed on (its memory tier), also when it is
    queued again after a worker died or a pause.
    """
    from services.trainer.worker import QUEUE, TRAIN_TASK, create_celery

    app = create_celery(redis_url)
    name = task or TRAIN_TASK

    def enqueue(job_id: str) -> None:
        job = placed_by.get(job_id) if placed_by is not None else None
        if job is None:
            app.send_task(name, args=[job_id], queue=QUEUE)
            return
        send_placed(app, name, job_id, job.queue, job.distributed.hosts if job.distributed else None)

    return enqueue


@dataclass(frozen=True)
class Enqueuers:
    """How each kind of job is queued; tests pass functions that record or run jobs in-process."""

    train: Callable[[str], None]
    evaluate: Callable[[str], None]
    export: Callable[[str], None]
    model_import: Callable[[str], None]

    @classmethod
    def celery(cls, redis_url: str, store: FineTuningStore) -> Enqueuers:
        from services.trainer.worker import EVAL_TASK, EXPORT_TASK, IMPORT_TASK, TRAIN_TASK

        return cls(
            celery_enqueue(redis_url, TRAIN_TASK, placed_by=store),
            celery_enqueue(redis_url, EVAL_TASK),
            celery_enqueue(redis_url, EXPORT_TASK),
            celery_enqueue(redis_url, IMPORT_TASK),
        )


def start(settings: TrainerSettings, *, enqueue: Callable[[str], None] | Enqueuers | None = None) -> RunningServer:
    """Start the trainer's gRPC services and the reaper; `enqueue` replaces Celery (tests)."""
    client = connect(settings.redis)
    objects = ObjectStore(settings.storage)
    files = FileService(objects, FileRepository(client), max_bytes=1 << 40)
    store, eval_store, export_store = FineTuningStore(client), JobStore(client, EVALUATION), JobStore(client, EXPORT)
    redis_url = settings.redis.url.get_secret_value()
    queues = enqueue if isinstance(enqueue, Enqueuers) else Enqueuers.celery(redis_url, store)
    if callable(enqueue):
        queues = Enqueuers(enqueue, queues.evaluate, queues.export, queues.model_import)
    registry = ModelRegistry(client, objects)
    sources = ModelSources(registry, allow_local=settings.allow_local_models, allow_hub=settings.allow_hub_models)
    board = HardwareBoard(client)

    def largest_budget() -> int:
        """What the roomiest live worker may use (this machine's budget while no worker reports)."""
        budgets = [w.budget_bytes for w in board.live() if w.role == "worker"]
        return max(budgets) if budgets else budget_bytes(settings.memory_budget_gb)

    def capacity(queue: str) -> int:
        """How many live workers consume `queue`."""
        return sum(1 for w in board.live() if w.role == "worker" and queue in w.queues)

    jobs = JobService(
        store,
        files,
        sources,
        queues.train,
        memory_check=request_memory_check(sources, largest_budget),
        capacity=capacity,
    )
    evals = EvalService(eval_store, files, objects, registry, sources, queues.evaluate)
    exports = ExportService(export_store, registry, queues.export)
    import_store = JobStore(client, IMPORT)
    imports = ImportService(
        import_store,
        files,
        objects,
        registry,
        queues.model_import,
        budget_bytes=lambda: budget_bytes(settings.memory_budget_gb),
    )
    fleet = Fleet(
        board,
        registry,
        lambda: take_snapshot("trainer", settings.memory_budget_gb),
        stores=[store, eval_store, export_store, import_store],
    )
    reaper = Reaper(
        [
            (store, queues.train),
            (eval_store, queues.evaluate),
            (export_store, queues.export),
            (import_store, queues.model_import),
        ],
        settings.reaper_interval_s,
    )

    def register(server: grpc.Server) -> None:
        # The generated registration functions carry no annotations.
        trainer_pb2_grpc.add_TrainerServiceServicer_to_server(TrainerServicer(jobs), server)  # type: ignore[no-untyped-call]
        evaluation_pb2_grpc.add_EvaluationServiceServicer_to_server(EvaluationServicer(evals), server)  # type: ignore[no-untyped-call]
        export_pb2_grpc.add_ExportServiceServicer_to_server(ExportServicer(exports), server)  # type: ignore[no-untyped-call]
        import_pb2_grpc.add_ImportServiceServicer_to_server(ImportServicer(imports), server)  # type: ignore[no-untyped-call]
        hardware_pb2_grpc.add_HardwareServiceServicer_to_server(HardwareServicer(fleet), server)  # type: ignore[no-untyped-call]

    running = start_server(
        host=settings.host,
        port=settings.port,
        port_setting="DISTRUST_TRAINER_PORT",
        register=register,
        service_names=[
            SERVICE_NAME,
            EVAL_SERVICE_NAME,
            EXPORT_SERVICE_NAME,
            IMPORT_SERVICE_NAME,
            HARDWARE_SERVICE_NAME,
        ],
        max_workers=settings.max_workers,
    )
    reaper.start()
    running.on_stop.append(reaper.stop)
    return running
