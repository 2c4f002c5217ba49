"""The Celery application that runs training jobs: Redis broker, late acks, one task at a time per worker.

Run a worker with `celery -A services.trainer.worker worker --pool solo --queues training`.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import cache

from celery import Celery
from celery.signals import worker_init, worker_ready

from services.trainer.config import TrainerSettings
from shared.settings import load_settings

logger = logging.getLogger(__name__)

QUEUE = "training"
TRAIN_TASK = "distrust.train"


def create_celery(redis_url: str) -> Celery:
    app = Celery("distrust-trainer", broker=redis_url, backend=redis_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_track_started=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        result_expires=7 * 24 * 3600,
    )
    return app


settings = load_settings(TrainerSettings)
celery_app = create_celery(settings.redis.url.get_secret_value())
app = celery_app


@cache
def _runner():  # noqa: ANN202 - built once per worker process, on first use
    from services.trainer.jobs.memory import job_memory_check
    from services.trainer.jobs.model_sources import ModelSources
    from services.trainer.jobs.runner import JobRunner, RunnerContext
    from services.trainer.jobs.store import JobStore
    from shared.files import FileService
    from shared.files.repository import FileRepository
    from shared.model_registry import ModelRegistry
    from shared.redis_store import connect
    from shared.storage import ObjectStore

    client = connect(settings.redis)
    objects = ObjectStore(settings.storage)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    registry = ModelRegistry(client, objects)
    sources = ModelSources(registry, allow_local=settings.allow_local_models, allow_hub=settings.allow_hub_models)
    ctx = RunnerContext(store=JobStore(client), files=FileService(objects, FileRepository(client), max_bytes=1 << 40),
                        registry=registry, sources=sources, objects=objects,
                        cache_dir=settings.resolved_cache_dir, holder=holder, lease_ttl_s=settings.lease_ttl_s,
                        memory_check=job_memory_check(settings.memory_budget_gb))
    return JobRunner(ctx)


@celery_app.task(name=TRAIN_TASK, acks_late=True, reject_on_worker_lost=True)
def train(job_id: str) -> None:
    _runner().run(job_id)


@worker_init.connect
def _logging(**_kwargs: object) -> None:
    from shared.log import configure_logging

    configure_logging(settings.log, service="worker")


@worker_ready.connect
def _announce(**_kwargs: object) -> None:
    from services.trainer.system.blas import detect_blas

    logger.info("trainer worker ready", extra={"blas": detect_blas().describe()})
