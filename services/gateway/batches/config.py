"""Settings of the batch worker (env prefix `DISTRUST_BATCH_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class BatchSettings(ServiceSettings):
    """The batch worker's settings (`DISTRUST_BATCH_*`)."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_BATCH_", extra="ignore")

    inference_target: str = "127.0.0.1:50153"
    # Requests of one batch in flight at once: the inference engine's batch lane takes up to 32 rows, and the
    # requests waiting behind them keep it full while rows finish.
    concurrency: int = Field(default=48, ge=1, le=256)
    lease_ttl_s: int = Field(default=30, ge=3)
    # How often the batch's request_counts are written while it runs.
    progress_interval_s: float = Field(default=1.0, gt=0)
