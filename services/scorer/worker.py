"""The Celery application that runs dataset preparation jobs: Redis broker, late acks, one at a time.

Run a worker with `celery -A services.scorer.worker worker --pool solo --queues preparation`.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import cache

from services.scorer.config import ScorerSettings
from services.scorer.jobs import PREPARATION, PREPARE_TASK, QUEUE
from services.scorer.runner import PreparationContext, PreparationRunner
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs import queue
from shared.jobs.store import JobStore
from shared.redis_store import connect
from shared.settings import load_settings
from shared.storage import ObjectStore

logger = logging.getLogger(__name__)

settings = load_settings(ScorerSettings)
queue.log_when_started(settings.log, "scorer-worker")
celery_app = queue.create_celery("distrust-scorer", settings.redis.url.get_secret_value(), QUEUE)
app = celery_app


@cache
def _runner() -> PreparationRunner:  # built once per worker process, on first use
    client = connect(settings.redis)
    files = FileService(ObjectStore(settings.storage), FileRepository(client), max_bytes=settings.max_output_bytes)
    context = PreparationContext(
        store=JobStore(client, PREPARATION),
        files=files,
        holder=f"{socket.gethostname()}:{os.getpid()}",
        lease_ttl_s=settings.lease_ttl_s,
        progress_delay_s=settings.progress_delay_s,
    )
    return PreparationRunner(context)


@celery_app.task(name=PREPARE_TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # celery ships no stubs
def prepare(job_id: str) -> None:
    """Run one preparation job (a no-op when it is finished or another worker holds it)."""
    _runner().run(job_id)
