"""Settings of the trainer service (env prefix `DISTRUST_TRAINER_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TrainerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISTRUST_TRAINER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=50152, ge=0, le=65535)
    max_workers: int = Field(default=8, ge=1, le=256)
