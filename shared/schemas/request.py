"""The base of every request body's schema: unknown fields refused and no lax coercion."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body (or part of one): `"16"` is no integer, `"yes"` no boolean, an unknown field an error."""

    model_config = ConfigDict(extra="forbid", strict=True)
