"""Embeddings: OpenAI's request (four input forms) and CreateEmbeddingResponse."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.common import UINT32_MAX, Identifier, UInt32
from shared.schemas.request import RequestModel


class EmbeddingRequest(RequestModel):
    """Texts or token ids to embed with a base model (or a fine-tuned one: base + adapter)."""

    # An option this server does not implement is a 400 naming it, never silently dropped.
    model: Identifier
    input: str | list[str] | list[UInt32] | list[list[UInt32]] = Field(
        description="A text, a list of texts, a list of token ids, or a list of token-id lists (up to 2048 inputs)"
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(
        default=None, ge=1, le=UINT32_MAX, description="Keep the first N components, normalised again"
    )
    user: str | None = Field(default=None, description="Your end user's id; accepted for logs, not used")

    def inputs(self) -> list[str] | list[list[int]]:
        """The input as a list of texts or of token-id lists."""
        value = self.input
        if isinstance(value, str):
            return [value]
        if value and all(isinstance(item, int) for item in value):
            return [[item for item in value if isinstance(item, int)]]
        return value  # type: ignore[return-value]  # the two remaining forms are lists of texts or of id lists


class Embedding(BaseModel):
    """One input's vector: floats, or base64 of little-endian float32 bytes."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    """Tokens of all inputs."""

    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(BaseModel):
    """OpenAI's embeddings list."""

    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
