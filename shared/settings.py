"""Settings shared by every service, read from the environment with pydantic-settings.

Each service has one settings class (`ServiceSettings` subclass, own env prefix) that embeds the shared
groups below, each with its own prefix: `DISTRUST_STORAGE_*`, `DISTRUST_REDIS_*`, `DISTRUST_LOG_*`.
In production (`DISTRUST_ENV=production`) secrets have no defaults: `check_secrets()` stops start-up with a
message naming the missing variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError

DEV_STORAGE_ACCESS_KEY = "distrust"
DEV_STORAGE_SECRET_KEY = "distrust-dev-secret"


def default_data_dir() -> Path:
    """Where local data lives: $XDG_DATA_HOME/distrust, else ~/.local/share/distrust."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "distrust"


class StorageSettings(BaseSettings):
    """S3-compatible object storage (MinIO in production)."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_STORAGE_", extra="ignore")

    endpoint: str = "127.0.0.1:19000"
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    secure: bool = False
    region: str = "us-east-1"
    bucket_prefix: str = "distrust-"
    # Memory held by one upload is about part_size_mb * (upload_parallelism + 1).
    part_size_mb: int = Field(default=8, ge=5, le=512)
    upload_parallelism: int = Field(default=2, ge=1, le=16)
    timeout_s: float = Field(default=30.0, gt=0)
    # Where LanceDB reaches the same S3 server when it must differ from `endpoint` (the local stack's rclone
    # answers ranged reads 200; its proxy, cli/stack/s3_ranges.py, answers 206 as S3 and MinIO do).
    lance_endpoint: str | None = None
    # Memory each host may hold of the vector stores' result columns, so a search reads only ids from the index.
    lance_result_rows_mb: int = Field(default=256, ge=0)


class RedisSettings(BaseSettings):
    """Redis: Celery broker and record store."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_REDIS_", extra="ignore")

    url: SecretStr = SecretStr("redis://127.0.0.1:16379/0")


class LogSettings(BaseSettings):
    """Logging settings: level and JSON or text lines (env DISTRUST_LOG_LEVEL, DISTRUST_LOG_JSON)."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_LOG_", extra="ignore")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, validation_alias="DISTRUST_LOG_JSON")


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set their own `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_", extra="ignore")

    env: Literal["development", "production"] = Field(default="development", validation_alias="DISTRUST_ENV")
    data_dir: Path = Field(default_factory=default_data_dir, validation_alias="DISTRUST_DATA_DIR")
    storage: StorageSettings = Field(default_factory=StorageSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    def secret_fields(self) -> dict[str, object]:
        """Env variable name → current value of every secret this service needs."""
        return {
            "DISTRUST_STORAGE_ACCESS_KEY": self.storage.access_key,
            "DISTRUST_STORAGE_SECRET_KEY": self.storage.secret_key,
        }

    def check_secrets(self) -> None:
        """Fail fast on missing secrets in production; fill development defaults otherwise."""
        missing = [name for name, value in self.secret_fields().items() if not _present(value)]
        if self.env == "production":
            if missing:
                raise ConfigError(
                    f"missing required secret(s) in production: {', '.join(missing)}; set the environment "
                    f"variable(s) before starting",
                    param=missing[0],
                )
            return
        if self.storage.access_key is None:
            self.storage.access_key = SecretStr(DEV_STORAGE_ACCESS_KEY)
        if self.storage.secret_key is None:
            self.storage.secret_key = SecretStr(DEV_STORAGE_SECRET_KEY)


S = TypeVar("S", bound=ServiceSettings)


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    if isinstance(value, dict | list | str):
        return bool(value)
    return True


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build a service's settings and check its secrets: the one way services read configuration.

    `overrides` are fields of `cls` by name, each of its own type (tests pass them; services read the environment).
    """
    try:
        settings = cls(**overrides)
    except ValueError as exc:  # pydantic's ValidationError names the field; keep its text
        raise ConfigError(f"invalid settings for {cls.__name__}: {exc}") from exc
    settings.check_secrets()
    return settings
