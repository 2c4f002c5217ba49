"""Liveness and readiness bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    """The gateway process answers."""

    status: Literal["ok"] = "ok"


class BackendCheck(BaseModel):
    """One backend's readiness: ok, or the error, and how long the check took."""

    status: Literal["ok", "error"]
    error: str | None = Field(default=None, exclude_if=lambda value: value is None)
    latency_ms: float
    replicas: dict[str, BackendCheck] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="A replicated backend's replicas by address; it is ok while any of them is",
    )


class Readiness(BaseModel):
    """Every backend's readiness, each named; `degraded` (HTTP 503) when any is not ok."""

    status: Literal["ok", "degraded"]
    checks: dict[str, BackendCheck]
    blas: dict[str, str] = Field(
        default_factory=dict,
        description="The BLAS each trainer worker's MLX multiplies with, by worker id (see GET /v1/hardware)",
    )
