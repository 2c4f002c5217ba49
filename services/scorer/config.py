"""Settings of the scorer service and its workers (env prefix `DISTRUST_SCORER_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ScorerSettings(ServiceSettings):
    """The scorer's gRPC server, its preparation jobs and its workers."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_SCORER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=50151, ge=0, le=65535)
    max_workers: int = Field(default=8, ge=1, le=256)
    max_output_bytes: int = Field(default=50 * 1024**3, ge=1)
    lease_ttl_s: int = Field(default=30, ge=3, le=3600)
    reaper_interval_s: float = Field(default=10.0, gt=0)
    # Test-only: a worker pauses this long after each progress event, so a preparation has a middle.
    progress_delay_s: float = Field(default=0.0, ge=0)
