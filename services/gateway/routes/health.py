"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway.auth import current_owner
from services.gateway.deps import BackendsDep, HardwareDep, MetricsDep
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.health import BackendCheck, Health, Readiness
from shared.errors import DistrustError
from shared.schemas.hardware import WorkerHardware

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the gateway process answers (no API key needed)")
def healthz() -> Health:
    """Always ok while the process serves."""
    return Health()


@router.get(
    "/readyz",
    summary="Readiness of every backend, each named",
    dependencies=[Depends(current_owner)],
    responses={503: {"model": Readiness, "description": "Some backend is not ready"}},
)
async def readyz(backends: BackendsDep, hardware: HardwareDep, response: Response) -> Readiness:
    """Check every backend; 503 when any is not ok. Names each trainer worker's BLAS when the trainer answers."""
    checks = await run_in_threadpool(backends.readiness)
    blas = {}
    if checks["trainer"]["status"] == "ok":
        try:
            workers = await hardware.list(timeout=backends.settings.backend_timeout_s)
        except DistrustError:  # readiness is the checks': the BLAS is extra information
            workers = ListResponse[WorkerHardware](data=[])
        blas = {worker.id: worker.blas for worker in workers.data}
    readiness = Readiness(
        status="ok" if all(check["status"] == "ok" for check in checks.values()) else "degraded",
        checks={name: BackendCheck.model_validate(check) for name, check in checks.items()},
        blas=blas,
    )
    response.status_code = 200 if readiness.status == "ok" else 503
    return readiness


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Depends(current_owner)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(gateway_metrics: MetricsDep) -> Response:
    """The gateway's request counts and latencies, in Prometheus' text format."""
    return Response(generate_latest(gateway_metrics.registry), media_type=CONTENT_TYPE_LATEST)
