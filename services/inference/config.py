"""Settings of the inference service (env prefix `DISTRUST_INFERENCE_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class InferenceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISTRUST_INFERENCE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=50153, ge=0, le=65535)
    max_workers: int = Field(default=8, ge=1, le=256)
