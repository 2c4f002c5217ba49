"""Managed API keys in OpenAI's style: a key's record, and its secret shown once at creation."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

from shared.schemas.request import RequestModel

Scope = Literal["inference", "training", "files", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)


def _default_scopes() -> list[Scope]:
    return ["inference", "training", "files"]


class KeyLimits(RequestModel):
    """A key's own limits; unset: the deployment's per-key defaults (DISTRUST_GATEWAY_KEY_*); 0 is unlimited."""

    requests_per_minute: int | None = Field(default=None, ge=0, le=10**9)
    tokens_per_minute: int | None = Field(default=None, ge=0, le=10**12)
    concurrent_streams: int | None = Field(default=None, ge=0, le=10**6)
    concurrent_jobs: int | None = Field(default=None, ge=0, le=10**6, description="Jobs of the key's owner")
    stored_bytes: int | None = Field(default=None, ge=0, le=10**18, description="Bytes of the key's owner's files")


class CreateApiKey(RequestModel):
    """The body of `POST /v1/api_keys` (admin scope)."""

    name: str = Field(min_length=1, max_length=64, description="What the key is for")
    scopes: list[Scope] = Field(default_factory=_default_scopes, min_length=1, description="What the key may do")
    owner: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="Whose resources the key acts on; default the creating key's owner",
    )
    limits: KeyLimits = Field(default_factory=KeyLimits)


class ApiKey(BaseModel):
    """A managed key, without its secret."""

    object: Literal["api_key"] = "api_key"
    id: str
    name: str
    owner: str
    scopes: list[Scope]
    created_at: int
    last_used_at: int | None = None
    redacted_value: str
    limits: KeyLimits = Field(default_factory=KeyLimits)


class CreatedApiKey(ApiKey):
    """A key just created: `value` is its secret, shown this once."""

    value: str


class ApiKeyDeleted(BaseModel):
    """The answer to a revocation."""

    object: Literal["api_key.deleted"] = "api_key.deleted"
    id: str
    deleted: bool = True
