"""Settings of the gateway (env prefix `DISTRUST_GATEWAY_`)."""

from __future__ import annotations

import json

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.gateway.limits import Limits
from shared.errors import ConfigError
from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """The gateway's settings (`DISTRUST_GATEWAY_*`)."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # API keys and their owners: `key1=owner1,key2=owner2` or a JSON object {"key": "owner"}.
    api_keys: SecretStr | None = None
    # Each key's limits unless it has its own, and the whole deployment's; 0 is unlimited.
    key_requests_per_minute: int = Field(default=0, ge=0)
    key_tokens_per_minute: int = Field(default=0, ge=0)
    key_concurrent_streams: int = Field(default=0, ge=0)
    key_concurrent_jobs: int = Field(default=0, ge=0)  # counted over the key's owner, as is stored_bytes
    key_stored_bytes: int = Field(default=0, ge=0)
    requests_per_minute: int = Field(default=0, ge=0)
    tokens_per_minute: int = Field(default=0, ge=0)
    concurrent_jobs: int = Field(default=0, ge=0)
    stored_bytes: int = Field(default=0, ge=0)
    # Keys managed over /v1/api_keys are stored as HMAC-SHA256(key_secret, key); unset: no managed keys.
    key_secret: SecretStr | None = None
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    # A JSON request body (a chat, a job); uploads have their own limits above.
    max_body_bytes: int = Field(default=8 * 1024**2, ge=1024)
    # Model files to import (purpose `model`): a 70B model's GGUF is about 40 GB.
    max_model_upload_bytes: int = Field(default=256 * 1024**3, ge=1)
    scorer_target: str = "127.0.0.1:50151"
    trainer_target: str = "127.0.0.1:50152"
    # One inference service, or several replicas: `host:port,host:port` (routed by adapter affinity).
    inference_target: str = "127.0.0.1:50153"
    # How often each replica's health and load are checked (only with several).
    replica_health_interval_s: float = Field(default=1.0, gt=0, le=60)
    backend_timeout_s: float = Field(default=2.0, gt=0)
    # /readyz answers within this long whatever its backends do (a hung one is reported, not waited for).
    readiness_timeout_s: float = Field(default=1.5, gt=0, le=30)
    # On SIGTERM, how long requests and streams in flight may take to finish (new ones get 503 meanwhile).
    drain_timeout_s: float = Field(default=20.0, ge=0, le=3600)
    # Owners whose keys may do what affects everyone (import a public base model): `owner1,owner2`.
    admin_owners: str = ""
    # The embedding model of a vector store whose create body names none (a word-embedding model: no base needed).
    vector_store_embedding_model: str = "wordllama-l2-supercat-256"
    # How often the gateway looks for batches whose worker died, to queue them again.
    reaper_interval_s: float = Field(default=5.0, gt=0)
    # Serve /openapi.json, /docs and /redoc to anyone; off: /openapi.json needs a key, /docs and /redoc are off.
    public_docs: bool = False

    def key_limits(self) -> Limits:
        """The limits of a key that sets none of its own."""
        return Limits(
            self.key_requests_per_minute,
            self.key_tokens_per_minute,
            self.key_concurrent_streams,
            self.key_concurrent_jobs,
            self.key_stored_bytes,
        )

    def deployment_limits(self) -> Limits:
        """The limits on all keys together."""
        return Limits(
            self.requests_per_minute,
            self.tokens_per_minute,
            concurrent_jobs=self.concurrent_jobs,
            stored_bytes=self.stored_bytes,
        )

    def admins(self) -> frozenset[str]:
        """The owners named by DISTRUST_GATEWAY_ADMIN_OWNERS."""
        return frozenset(filter(None, (part.strip() for part in self.admin_owners.split(","))))

    def secret_fields(self) -> dict[str, object]:
        return {
            **super().secret_fields(),
            "DISTRUST_GATEWAY_API_KEYS": self.api_keys,
            "DISTRUST_GATEWAY_KEY_SECRET": self.key_secret,
        }

    def check_secrets(self) -> None:
        super().check_secrets()
        if not self.api_keys or not self.api_keys.get_secret_value().strip():
            raise ConfigError(
                "DISTRUST_GATEWAY_API_KEYS is not set: the gateway needs at least one API key (`key=owner`)",
                param="DISTRUST_GATEWAY_API_KEYS",
            )
        self.key_owners()

    def key_owners(self) -> dict[str, str]:
        """API key → owner; raises ConfigError naming the variable on a malformed value."""
        raw = self.api_keys.get_secret_value().strip() if self.api_keys else ""
        if raw.startswith("{"):
            try:
                mapping = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"DISTRUST_GATEWAY_API_KEYS is not valid JSON: {exc.msg}", param="DISTRUST_GATEWAY_API_KEYS"
                ) from exc
        else:
            mapping = {}
            for item in filter(None, (part.strip() for part in raw.split(","))):
                key, sep, owner = item.partition("=")
                if not sep:
                    raise ConfigError(
                        "DISTRUST_GATEWAY_API_KEYS entries must look like `key=owner`",
                        param="DISTRUST_GATEWAY_API_KEYS",
                    )
                mapping[key.strip()] = owner.strip()
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in mapping.items()
        ):
            raise ConfigError(
                "DISTRUST_GATEWAY_API_KEYS must map non-empty keys to non-empty owners",
                param="DISTRUST_GATEWAY_API_KEYS",
            )
        return mapping
