"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway.auth import current_owner

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the gateway process answers (no API key needed)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness of every backend, each named", dependencies=[Depends(current_owner)])
async def readyz(request: Request) -> JSONResponse:
    checks = await run_in_threadpool(request.app.state.backends.readiness)
    ready = all(check["status"] == "ok" for check in checks.values())
    return JSONResponse({"status": "ok" if ready else "degraded", "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(current_owner)])
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
