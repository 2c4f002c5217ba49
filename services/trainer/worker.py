"""The Celery application that runs training, evaluation, export and import jobs: Redis broker, late acks, one at a time.

Run a worker with `celery -A services.trainer.worker worker --pool solo --queues training`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import celeryd_after_setup, worker_ready, worker_shutdown

from services.trainer.config import TrainerSettings
from shared.errors import DistrustError
from shared.jobs import queue
from shared.settings import load_settings

if TYPE_CHECKING:  # the runners import MLX: a worker loads them on its first job, not at import
    import redis

    from services.retrieval.context import Retriever
    from services.trainer.jobs.eval_runner import EvalRunner
    from services.trainer.jobs.export_runner import ExportRunner
    from services.trainer.jobs.gang import Gang
    from services.trainer.jobs.import_runner import ImportRunner
    from services.trainer.jobs.runner import JobRunner
    from services.trainer.system.snapshot import Heartbeat
    from shared.files import FileService

logger = logging.getLogger(__name__)

QUEUE = "training"
TRAIN_TASK = "distrust.train"
EVAL_TASK = "distrust.evaluate"
EXPORT_TASK = "distrust.export"
IMPORT_TASK = "distrust.import"
_heartbeats: list[Heartbeat] = []  # the one this worker started at ready, stopped at shutdown
_queues: list[str] = []  # the queues this worker consumes, set up before it takes a job


def create_celery(redis_url: str) -> Celery:
    """The trainer's Celery app (queue `training`)."""
    return queue.create_celery("distrust-trainer", redis_url, QUEUE)


settings = load_settings(TrainerSettings)
queue.log_when_started(settings.log, "worker")
celery_app = create_celery(settings.redis.url.get_secret_value())
app = celery_app


@dataclass(frozen=True)
class Runners:
    """One runner per kind of trainer job, and this worker's part in data-parallel groups."""

    train: JobRunner
    evaluate: EvalRunner
    export: ExportRunner
    model_import: ImportRunner
    gang: Gang


def _retriever(client: redis.Redis, files: FileService) -> Retriever:
    """Search of the owners' vector stores for evaluations with `retrieval`, embedding through the inference service."""
    from services.gateway.replicas import InferenceRouter, targets_of
    from services.retrieval.context import Retriever
    from services.retrieval.index import ChunkIndex
    from services.retrieval.records import FILE_BATCH
    from services.retrieval.repository import RedisIndexVersions, StoreRepository
    from services.retrieval.service import VectorStoreService
    from shared.jobs.store import JobStore

    index = ChunkIndex(settings.storage, versions=RedisIndexVersions(client))
    service = VectorStoreService(StoreRepository(client), files, index, JobStore(client, FILE_BATCH), None)
    return Retriever(service, lambda: InferenceRouter(targets_of(settings.inference_target)))


@cache
def _runners() -> Runners:  # built once per worker process, on first use
    from services.trainer.jobs.eval_runner import EvalContext, EvalRunner
    from services.trainer.jobs.export_runner import ExportContext, ExportRunner
    from services.trainer.jobs.gang import Gang, GangContext
    from services.trainer.jobs.import_runner import ImportContext, ImportRunner
    from services.trainer.jobs.kinds import EVALUATION, EXPORT, IMPORT, FineTuningStore
    from services.trainer.jobs.memory import budget_bytes, job_memory_check
    from services.trainer.jobs.model_sources import ModelSources
    from services.trainer.jobs.runner import JobRunner, RunnerContext
    from services.trainer.system.placement import send_placed
    from shared.files import FileService
    from shared.files.repository import FileRepository
    from shared.jobs.store import JobStore
    from shared.model_registry import ModelRegistry
    from shared.redis_store import connect
    from shared.storage import ObjectStore

    client = connect(settings.redis)
    objects = ObjectStore(settings.storage)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    registry = ModelRegistry(client, objects)
    sources = ModelSources(registry, allow_local=settings.allow_local_models, allow_hub=settings.allow_hub_models)
    files = FileService(objects, FileRepository(client), max_bytes=1 << 40)
    cache_dir, ttl = settings.resolved_cache_dir, settings.lease_ttl_s
    train = JobRunner(
        RunnerContext(
            store=FineTuningStore(client),
            files=files,
            registry=registry,
            sources=sources,
            objects=objects,
            cache_dir=cache_dir,
            holder=holder,
            lease_ttl_s=ttl,
            memory_check=job_memory_check(settings.memory_budget_gb),
        )
    )
    evaluate = EvalRunner(
        EvalContext(
            store=JobStore(client, EVALUATION),
            files=files,
            registry=registry,
            sources=sources,
            objects=objects,
            cache_dir=cache_dir,
            holder=holder,
            lease_ttl_s=ttl,
            retriever=_retriever(client, files),
        )
    )
    export = ExportRunner(
        ExportContext(
            store=JobStore(client, EXPORT),
            registry=registry,
            objects=objects,
            cache_dir=cache_dir,
            holder=holder,
            lease_ttl_s=ttl,
        )
    )
    model_import = ImportRunner(
        ImportContext(
            store=JobStore(client, IMPORT),
            registry=registry,
            files=files,
            objects=objects,
            cache_dir=cache_dir,
            holder=holder,
            budget_bytes=lambda: budget_bytes(settings.memory_budget_gb),
            lease_ttl_s=ttl,
        )
    )
    store = train.ctx.store

    def requeue(job_id: str) -> None:
        job = store.get(job_id)
        if job is not None:
            hosts = job.distributed.hosts if job.distributed else None
            send_placed(celery_app, TRAIN_TASK, job_id, job.queue, hosts)

    gang = Gang(
        GangContext(
            store=store,
            holder=holder,
            lease_ttl_s=ttl,
            advertise_host=settings.advertise_host or _address_towards(settings.redis.url.get_secret_value()),
            timeout_s=settings.gang_timeout_s,
            cache_dir=cache_dir,
            spawn=_spawn_rank,
            enqueue=requeue,
        )
    )
    return Runners(train, evaluate, export, model_import, gang)


def _address_towards(url: str) -> str:
    """The address other workers reach this machine at: the one it reaches `url`'s host (Redis) from."""
    from urllib.parse import urlparse

    target = urlparse(url)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((target.hostname or "127.0.0.1", target.port or 6379))  # UDP: nothing is sent
        return str(probe.getsockname()[0])


def _spawn_rank(job_id: str, rank: int, attempt: int, hosts: list[str]) -> subprocess.Popen[bytes]:
    """Start one rank of a data-parallel job as a child process that dies with this worker (Linux)."""
    argv = [sys.executable, "-m", "services.trainer.jobs.rank_process", job_id, str(rank), str(attempt)]
    return subprocess.Popen([*argv, ",".join(hosts)], preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@celery_app.task(name=TRAIN_TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # celery ships no stubs
def train(job_id: str, rank: int | None = None) -> None:
    """Run one fine-tuning job, or (`rank`) take one rank of a data-parallel one."""
    if rank is None:
        _runners().train.run(job_id)
    else:
        _runners().gang.run(job_id, rank)


@celery_app.task(name=EVAL_TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # celery ships no stubs
def evaluate(eval_id: str) -> None:
    """Run one evaluation."""
    _runners().evaluate.run(eval_id)


@celery_app.task(name=EXPORT_TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # celery ships no stubs
def export(export_id: str) -> None:
    """Run one export."""
    _runners().export.run(export_id)


@celery_app.task(name=IMPORT_TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # celery ships no stubs
def model_import(import_id: str) -> None:
    """Run one model import."""
    _runners().model_import.run(import_id)


@celeryd_after_setup.connect  # type: ignore[untyped-decorator]  # celery ships no stubs
def _consume_memory_tiers(sender: str, instance: Any, **_kwargs: object) -> None:
    """Consume the memory tiers this worker's budget holds, besides `--queues` (placement by memory)."""
    from services.trainer.jobs.memory import budget_bytes
    from services.trainer.system.placement import queues_for

    for name in queues_for(budget_bytes(settings.memory_budget_gb)):
        instance.app.amqp.queues.select_add(name)
    _queues[:] = sorted(instance.app.amqp.queues.consume_from)
    logger.info("consuming %d queues", len(_queues), extra={"worker": sender, "queues": _queues})


@worker_ready.connect  # type: ignore[untyped-decorator]  # celery ships no stubs
def _announce(**_kwargs: object) -> None:
    from services.trainer.system.blas import log_blas
    from services.trainer.system.board import HardwareBoard
    from services.trainer.system.hardware import detect_hardware
    from services.trainer.system.snapshot import Heartbeat, refreshed, take_snapshot
    from shared.redis_store import connect

    blas, hardware = log_blas(logger), detect_hardware()
    heartbeat = Heartbeat(
        HardwareBoard(connect(settings.redis)),
        lambda: take_snapshot(
            "worker", settings.memory_budget_gb, hardware=refreshed(hardware), blas=blas, queues=list(_queues)
        ),
        settings.hardware_interval_s,
    )
    try:
        machine = heartbeat.start()
    except DistrustError as exc:  # jobs run without it; GET /v1/hardware shows the trainer's machine instead
        logger.warning("could not publish this worker's hardware: %s", exc.message)
        return
    _heartbeats.append(heartbeat)
    logger.info(
        "trainer worker ready: %s",
        machine.describe(),
        extra={"blas": blas.describe(), "worker_id": machine.id, "budget_bytes": machine.budget_bytes},
    )


@worker_shutdown.connect  # type: ignore[untyped-decorator]  # celery ships no stubs
def _retire(**_kwargs: object) -> None:
    for heartbeat in _heartbeats:
        try:
            heartbeat.stop()
        except DistrustError as exc:  # the report expires on its own
            logger.warning("could not remove this worker's hardware: %s", exc.message)
