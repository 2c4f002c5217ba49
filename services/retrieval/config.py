"""Settings of the vectors worker (env prefix `DISTRUST_VECTORS_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class VectorsSettings(ServiceSettings):
    """The vectors worker's settings (`DISTRUST_VECTORS_*`): where it embeds and scores, and its lease."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_VECTORS_", extra="ignore")

    inference_target: str = "127.0.0.1:50153"
    scorer_target: str = "127.0.0.1:50151"
    lease_ttl_s: int = Field(default=30, ge=3)
    # Chunks per embedding or scoring call.
    batch_size: int = Field(default=64, ge=1, le=2048)
    # A store gets an IVF vector index (8-bit scalar codes) once it has this many chunks (searches below it are exact).
    ann_min_rows: int = Field(default=10_000, ge=256)
