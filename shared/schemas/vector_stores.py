"""Vector stores (OpenAI's API): how a file is cut into chunks before its chunks are embedded and indexed.

`auto` is OpenAI's default (800-token chunks overlapping by 400); `static` sets both, the overlap at most half
the chunk, as OpenAI requires. Tokens are the embedding model's.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from shared.errors import invalid_field
from shared.schemas.request import RequestModel

AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS = 800, 400


class StaticChunking(RequestModel):
    """Chunks of at most `max_chunk_size_tokens`, each starting `max - overlap` tokens after the one before."""

    max_chunk_size_tokens: int = Field(ge=100, le=4096)
    chunk_overlap_tokens: int = Field(ge=0)

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> Self:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise invalid_field(
                "chunking_strategy.static.chunk_overlap_tokens",
                self.chunk_overlap_tokens,
                f"at most half of max_chunk_size_tokens ({self.max_chunk_size_tokens // 2})",
            )
        return self


class AutoChunkingStrategy(RequestModel):
    """OpenAI's default chunking."""

    type: Literal["auto"] = "auto"

    @property
    def size(self) -> StaticChunking:
        return StaticChunking(max_chunk_size_tokens=AUTO_MAX_TOKENS, chunk_overlap_tokens=AUTO_OVERLAP_TOKENS)


class StaticChunkingStrategy(RequestModel):
    """Chunking with the sizes given."""

    type: Literal["static"] = "static"
    static: StaticChunking

    @property
    def size(self) -> StaticChunking:
        return self.static


ChunkingStrategy = Annotated[AutoChunkingStrategy | StaticChunkingStrategy, Field(discriminator="type")]


AttributeValue = str | float | bool
Attributes = dict[Annotated[str, Field(min_length=1, max_length=64)], AttributeValue]


class ComparisonFilter(RequestModel):
    """OpenAI's comparison filter: the attribute `key` compared with `value` (`in` / `nin`: one of a list)."""

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str = Field(min_length=1, max_length=64)
    value: AttributeValue | list[AttributeValue]


class CompoundFilter(RequestModel):
    """OpenAI's compound filter: all (`and`) or any (`or`) of its filters."""

    type: Literal["and", "or"]
    filters: list[ComparisonFilter | CompoundFilter] = Field(min_length=1, max_length=32)


Filter = ComparisonFilter | CompoundFilter
SearchMode = Literal["hybrid", "vector", "text"]


class RankingOptions(RequestModel):
    """OpenAI's ranking options, plus `distrust` (the provenance prior's weight) and `mode` (which search).

    `score_threshold` drops results whose blended score is lower.
    """

    ranker: Literal["auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    distrust: float = Field(default=0.0, ge=0.0, le=1.0)
    mode: SearchMode = "hybrid"


class RetrievalOptions(RequestModel):
    """Our chat extension: search these stores and put the best chunks, with their sources, before the messages.

    `query` defaults to the last user message; `distrust` and `mode` are as in `ranking_options`.
    """

    vector_store_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=8)
    max_num_results: int = Field(default=4, ge=1, le=20)
    distrust: float = Field(default=0.0, ge=0.0, le=1.0)
    mode: SearchMode = "hybrid"
    query: Annotated[str, Field(min_length=1, max_length=8192)] | None = None
