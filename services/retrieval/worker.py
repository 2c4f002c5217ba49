"""The Celery application that ingests vector-store files: Redis broker, late acks, one file batch at a time.

Run a worker with `celery -A services.retrieval.worker worker --pool solo --queues vectors`.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import cache

from services.gateway.replicas import InferenceRouter, targets_of
from services.gateway.scorer_client import ScorerClient
from services.retrieval.config import VectorsSettings
from services.retrieval.index import ChunkIndex
from services.retrieval.ingest import IngestContext, IngestRunner
from services.retrieval.records import FILE_BATCH
from services.retrieval.repository import RedisIndexVersions, StoreRepository
from services.retrieval.service import QUEUE, TASK
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs import queue
from shared.jobs.store import JobStore
from shared.pb.distrust.inference.v1 import inference_pb2 as pb
from shared.redis_store import connect
from shared.rpc.client import open_channel
from shared.settings import load_settings
from shared.storage import ObjectStore

logger = logging.getLogger(__name__)

settings = load_settings(VectorsSettings)
queue.log_when_started(settings.log, "vectors-worker")
celery_app = queue.create_celery("distrust-vectors", settings.redis.url.get_secret_value(), QUEUE)
app = celery_app


@cache
def _runner() -> IngestRunner:  # built once per worker process, on first use
    client = connect(settings.redis)
    store = ObjectStore(settings.storage)
    context = IngestContext(
        store=JobStore(client, FILE_BATCH),
        repo=StoreRepository(client),
        files=FileService(store, FileRepository(client), max_bytes=2**40),
        index=ChunkIndex(settings.storage, ann_min_rows=settings.ann_min_rows, versions=RedisIndexVersions(client)),
        embedder=lambda: InferenceRouter(targets_of(settings.inference_target), priority=pb.PRIORITY_BATCH),
        scorer=ScorerClient(open_channel(settings.scorer_target)),
        holder=f"{socket.gethostname()}:{os.getpid()}",
        lease_ttl_s=settings.lease_ttl_s,
        batch_size=settings.batch_size,
    )
    return IngestRunner(context)


@celery_app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]  # celery ships no stubs
def ingest(batch_id: str) -> None:
    """Ingest one file batch (a no-op when it is finished or another worker holds it)."""
    _runner().run(batch_id)
