"""Settings of the trainer service and its workers (env prefix `DISTRUST_TRAINER_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TrainerSettings(ServiceSettings):
    """The trainer service's settings, shared by its workers."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_TRAINER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=50152, ge=0, le=65535)
    max_workers: int = Field(default=8, ge=1, le=256)
    # Where workers keep downloaded models, job files and checkpoints in progress (default: <data_dir>/cache).
    cache_dir: Path | None = None
    lease_ttl_s: int = Field(default=10, ge=3, le=3600)
    # The address other workers reach this one at for data-parallel jobs (MLX's ring); empty: the address this
    # machine reaches Redis from.
    advertise_host: str = ""
    # How long the ranks of a data-parallel job wait for each other before the group gives up (and restarts).
    gang_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    reaper_interval_s: float = Field(default=2.0, gt=0)
    # Memory a job may use on a worker; 0 = 80 % of the worker's RAM (or unified memory on a Mac).
    memory_budget_gb: float = Field(default=0.0, ge=0)
    # How often a worker republishes its machine (GET /v1/hardware); a report lives 3 of these.
    hardware_interval_s: float = Field(default=30.0, gt=0, le=3600)
    default_model: str = "SmolLM2-135M-Instruct"
    # Workers embed evaluation prompts here to search vector stores (an evaluation task's `retrieval`).
    inference_target: str = "127.0.0.1:50153"
    # A job's `model` may be an absolute path to a model folder visible to the trainer and its workers.
    allow_local_models: bool = True
    # A job's `model` may be a Hugging Face id, downloaded by the worker (connected machines only).
    allow_hub_models: bool = False

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"
