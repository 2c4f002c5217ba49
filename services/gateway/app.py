"""The gateway application: the public HTTP API in front of the gRPC services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.gateway.auth import require
from services.gateway.backends import Backends
from services.gateway.batches.records import BATCH
from services.gateway.batches.service import QUEUE, TASK, BatchService
from services.gateway.body_limits import BodyLimitMiddleware
from services.gateway.config import GatewaySettings
from services.gateway.drain import Drain, DrainMiddleware
from services.gateway.errors import install_error_handlers
from services.gateway.evaluation_client import EvaluationClient, ExportClient
from services.gateway.hardware_client import HardwareClient
from services.gateway.import_client import ImportClient
from services.gateway.keys import KeyStore
from services.gateway.limits import RateLimiter
from services.gateway.middleware import GatewayMetrics, RequestContextMiddleware
from services.gateway.openapi import install_openapi
from services.gateway.replicas import InferenceRouter, affinity_key, targets_of
from services.gateway.routes import (
    aliases,
    batches,
    bots,
    console,
    embeddings,
    evals,
    files,
    fine_tuning,
    hardware,
    health,
    keys,
    models,
    scoring,
    vector_stores,
)
from services.gateway.routes import inference as inference_routes
from services.gateway.trainer_client import TrainerClient
from services.retrieval.index import ChunkIndex
from services.retrieval.records import FILE_BATCH
from services.retrieval.repository import RedisIndexVersions, StoreRepository
from services.retrieval.service import QUEUE as VECTORS_QUEUE
from services.retrieval.service import TASK as INGEST_TASK
from services.retrieval.service import VectorStoreService
from shared.jobs import queue
from shared.jobs.reaper import Reaper
from shared.jobs.store import JobStore
from shared.rpc.client import AioChannel


def create_app(settings: GatewaySettings, backends: Backends | None = None) -> FastAPI:
    """Build the app; `backends` defaults to connections made from `settings`."""
    backends = backends or Backends.from_settings(settings)
    inference = InferenceRouter(
        targets_of(settings.inference_target),
        key_of=affinity_key(backends.registry),
        health_interval_s=settings.replica_health_interval_s,
    )
    trainer = AioChannel(settings.trainer_target)

    batch_store = JobStore(backends.redis, BATCH)
    enqueue_batch = queue.celery_enqueue(
        queue.create_celery("distrust-batch", settings.redis.url.get_secret_value(), QUEUE), TASK, QUEUE
    )
    file_batches = JobStore(backends.redis, FILE_BATCH)
    enqueue_ingest = queue.celery_enqueue(
        queue.create_celery("distrust-vectors", settings.redis.url.get_secret_value(), VECTORS_QUEUE),
        INGEST_TASK,
        VECTORS_QUEUE,
    )
    # Requeues batches and file batches whose worker died (their lease lapsed), so they resume.
    reaper = Reaper([(batch_store, enqueue_batch), (file_batches, enqueue_ingest)], settings.reaper_interval_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reaper.start()
        inference.start()
        yield
        reaper.stop()
        await inference.close()
        await trainer.close()
        backends.close()

    app = FastAPI(
        title="distrust",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.public_docs else None,
        docs_url="/docs" if settings.public_docs else None,
        redoc_url="/redoc" if settings.public_docs else None,
        description="Empirical Distrust training and serving: files, scoring, fine-tuning, inference, "
        "evaluation and export.",
    )
    metrics = GatewayMetrics()
    app.state.settings = settings
    app.state.backends = backends
    app.state.inference = inference
    app.state.trainer = TrainerClient(trainer)
    app.state.evals = EvaluationClient(trainer)
    app.state.exports = ExportClient(trainer)
    app.state.imports = ImportClient(trainer)
    app.state.hardware = HardwareClient(trainer)
    app.state.batches = BatchService(batch_store, backends.files, enqueue_batch)
    app.state.vector_stores = VectorStoreService(
        StoreRepository(backends.redis),
        backends.files,
        ChunkIndex(settings.storage, versions=RedisIndexVersions(backends.redis)),
        file_batches,
        enqueue_ingest,
    )
    secret = settings.key_secret.get_secret_value() if settings.key_secret else None
    app.state.keys = KeyStore(backends.redis, secret, settings.key_owners(), settings.key_limits())
    app.state.limiter = RateLimiter(backends.redis, settings.deployment_limits())
    app.state.metrics = metrics
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.state.drain = Drain()
    app.add_middleware(DrainMiddleware, drain=app.state.drain)  # outermost: refuses before any other work
    install_error_handlers(app)
    inference_scope, training, files_scope = (require(s) for s in ("inference", "training", "files"))
    app.include_router(health.router)
    app.include_router(keys.router)
    app.include_router(files.router, dependencies=[files_scope])
    app.include_router(scoring.router, dependencies=[training])
    app.include_router(fine_tuning.router, dependencies=[training])
    app.include_router(aliases.router, dependencies=[training])
    app.include_router(bots.router, dependencies=[training])
    app.include_router(console.router)
    app.mount("/console/static", console.assets, name="console-static")
    app.include_router(models.router)  # reading models needs `inference`, exports and imports `training`
    app.include_router(evals.router, dependencies=[training])
    app.include_router(hardware.router, dependencies=[training])
    app.include_router(hardware.workers_router, dependencies=[training])
    app.include_router(inference_routes.router, dependencies=[inference_scope])
    app.include_router(embeddings.router, dependencies=[inference_scope])
    app.include_router(batches.router, dependencies=[inference_scope])
    app.include_router(vector_stores.router, dependencies=[inference_scope])
    install_openapi(app, public=settings.public_docs)
    return app
