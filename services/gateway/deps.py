"""Typed FastAPI dependencies: the caller's owner id and each backend client, declared once for every route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.auth import current_owner, current_principal, job_slot
from services.gateway.backends import Backends
from services.gateway.batches.service import BatchService
from services.gateway.bots.profiles import ProfileStore
from services.gateway.bots.service import BotService
from services.gateway.evaluation_client import EvaluationClient, ExportClient
from services.gateway.hardware_client import HardwareClient
from services.gateway.import_client import ImportClient
from services.gateway.inference_client import Inference
from services.gateway.keys import KeyStore, Principal
from services.gateway.limits import RateLimiter
from services.gateway.middleware import GatewayMetrics
from services.gateway.scorer_client import ScorerClient
from services.gateway.trainer_client import TrainerClient
from services.retrieval.service import VectorStoreService
from shared.files import FileService
from shared.model_aliases import Aliases
from shared.model_registry import ModelRegistry
from shared.storage import ObjectStore


def get_backends(request: Request) -> Backends:
    """The app's backend connections, built once at start-up."""
    backends: Backends = request.app.state.backends
    return backends


BackendsDep = Annotated[Backends, Depends(get_backends)]
Owner = Annotated[str, Depends(current_owner)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
# On the routes that queue a job: 429 when the key's owner already has its limit of jobs queued or running.
JOB_SLOT = Depends(job_slot)


def get_trainer(request: Request) -> TrainerClient:
    """The trainer service's fine-tuning client, on the app's `grpc.aio` channel to the trainer."""
    trainer: TrainerClient = request.app.state.trainer
    return trainer


def get_evals(request: Request) -> EvaluationClient:
    """The trainer service's evaluation client, on the app's `grpc.aio` channel to the trainer."""
    evals: EvaluationClient = request.app.state.evals
    return evals


def get_exports(request: Request) -> ExportClient:
    """The trainer service's export client, on the app's `grpc.aio` channel to the trainer."""
    exports: ExportClient = request.app.state.exports
    return exports


def get_imports(request: Request) -> ImportClient:
    """The trainer service's model import client, on the app's `grpc.aio` channel to the trainer."""
    imports: ImportClient = request.app.state.imports
    return imports


def get_hardware(request: Request) -> HardwareClient:
    """The trainer service's hardware client, on the app's `grpc.aio` channel to the trainer."""
    hardware: HardwareClient = request.app.state.hardware
    return hardware


def get_keys(request: Request) -> KeyStore:
    """The deployment's API keys (managed in Redis, plus the bootstrap keys)."""
    keys: KeyStore = request.app.state.keys
    return keys


KeysDep = Annotated[KeyStore, Depends(get_keys)]


def get_limiter(request: Request) -> RateLimiter:
    """The deployment's rate, concurrency and storage limits, counted in Redis."""
    limiter: RateLimiter = request.app.state.limiter
    return limiter


LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


def get_admins(request: Request) -> frozenset[str]:
    """The owners that may act for everyone (DISTRUST_GATEWAY_ADMIN_OWNERS)."""
    admins: frozenset[str] = request.app.state.settings.admins()
    return admins


def get_inference(request: Request) -> Inference:
    """The inference service's `grpc.aio` client, one per app."""
    inference: Inference = request.app.state.inference
    return inference


def get_batches(request: Request) -> BatchService:
    """The Batch API's use cases (records in Redis, run by the batch workers)."""
    batches: BatchService = request.app.state.batches
    return batches


def get_vector_stores(request: Request) -> VectorStoreService:
    """Vector stores' use cases (records in Redis, chunks in LanceDB on the object store)."""
    stores: VectorStoreService = request.app.state.vector_stores
    return stores


def get_scorer(backends: BackendsDep) -> ScorerClient:
    """The scorer service's client."""
    return backends.scorer


def get_files(backends: BackendsDep) -> FileService:
    """The files domain (object store + records)."""
    return backends.files


def get_registry(backends: BackendsDep) -> ModelRegistry:
    """The registry of base models and adapters."""
    return backends.registry


def get_aliases(backends: BackendsDep) -> Aliases:
    """The owners' model aliases, moved only to models they can use."""
    return Aliases(backends.registry)


def get_bots(request: Request, backends: BackendsDep) -> BotService:
    """The bot control API's use cases, over the owners' profiles, files, aliases, trainer and inference."""
    return BotService(
        ProfileStore(backends.redis),
        backends.files,
        Aliases(backends.registry),
        get_trainer(request),
        get_inference(request),
        backends.scorer,
    )


def get_store(backends: BackendsDep) -> ObjectStore:
    """The object store."""
    return backends.store


def get_metrics(request: Request) -> GatewayMetrics:
    """The gateway's Prometheus metrics."""
    metrics: GatewayMetrics = request.app.state.metrics
    return metrics


TrainerDep = Annotated[TrainerClient, Depends(get_trainer)]
EvalsDep = Annotated[EvaluationClient, Depends(get_evals)]
ExportsDep = Annotated[ExportClient, Depends(get_exports)]
ImportsDep = Annotated[ImportClient, Depends(get_imports)]
HardwareDep = Annotated[HardwareClient, Depends(get_hardware)]
AdminsDep = Annotated[frozenset[str], Depends(get_admins)]
InferenceDep = Annotated[Inference, Depends(get_inference)]
BatchesDep = Annotated[BatchService, Depends(get_batches)]
VectorStoresDep = Annotated[VectorStoreService, Depends(get_vector_stores)]
ScorerDep = Annotated[ScorerClient, Depends(get_scorer)]
FilesDep = Annotated[FileService, Depends(get_files)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
AliasesDep = Annotated[Aliases, Depends(get_aliases)]
BotsDep = Annotated[BotService, Depends(get_bots)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
MetricsDep = Annotated[GatewayMetrics, Depends(get_metrics)]
