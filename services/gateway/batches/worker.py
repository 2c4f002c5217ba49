"""The Celery application that runs batches: Redis broker, late acks, one batch at a time, many requests in flight.

Run a worker with `celery -A services.gateway.batches.worker worker --pool solo --queues batch`.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import cache

from services.gateway.batches.config import BatchSettings
from services.gateway.batches.records import BATCH
from services.gateway.batches.results import BatchResults
from services.gateway.batches.runner import BatchContext, BatchRunner
from services.gateway.batches.service import QUEUE, TASK
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs import queue
from shared.jobs.store import JobStore
from shared.redis_store import connect
from shared.settings import load_settings
from shared.storage import ObjectStore

logger = logging.getLogger(__name__)

settings = load_settings(BatchSettings)
queue.log_when_started(settings.log, "batch-worker")
celery_app = queue.create_celery("distrust-batch", settings.redis.url.get_secret_value(), QUEUE)
app = celery_app


@cache
def _runner() -> BatchRunner:  # built once per worker process, on first use
    client = connect(settings.redis)
    store = ObjectStore(settings.storage)
    context = BatchContext(
        store=JobStore(client, BATCH),
        files=FileService(store, FileRepository(client), max_bytes=2**40),
        results=BatchResults,
        inference_target=settings.inference_target,
        cache_dir=settings.data_dir / "cache",
        holder=f"{socket.gethostname()}:{os.getpid()}",
        concurrency=settings.concurrency,
        lease_ttl_s=settings.lease_ttl_s,
        progress_interval_s=settings.progress_interval_s,
    )
    return BatchRunner(context)


@celery_app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # celery ships no stubs
def run_batch(batch_id: str) -> None:
    """Run one batch (a no-op when it is finished or another worker holds it)."""
    _runner().run(batch_id)
