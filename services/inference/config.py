"""Settings of the inference service (env prefix `DISTRUST_INFERENCE_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class InferenceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISTRUST_INFERENCE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=50153, ge=0, le=65535)
    max_workers: int = Field(default=32, ge=1, le=256)
    # Base models this service may load (comma-separated names); empty = every registered base model.
    allowed_models: str = ""
    max_batch_size: int = Field(default=8, ge=1, le=256)
    adapter_cache_size: int = Field(default=8, ge=1, le=1024)
    default_max_tokens: int = Field(default=256, ge=1)
    cache_dir: Path | None = None

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"

    def allowed(self) -> set[str]:
        return {name.strip() for name in self.allowed_models.split(",") if name.strip()}
