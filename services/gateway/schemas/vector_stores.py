"""Vector stores over HTTP, shaped like openai-python's `VectorStore`, `VectorStoreFile`, file batches and search.

Extensions (named, never silently ignored): `embedding_model` on create; `ranking_options.distrust` and
`ranking_options.mode` on search; each result's `ranking` (relevance, provenance scores, prior, blended score),
`chunk_index` and `provenance`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from services.gateway.schemas.batch import MetadataKey, MetadataValue
from services.gateway.schemas.common import Identifier
from services.retrieval.records import (
    FileCounts,
    FileError,
    FileStatus,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from services.retrieval.search import Found
from shared.errors import invalid_field
from shared.schemas.request import RequestModel
from shared.schemas.vector_stores import (
    Attributes,
    AttributeValue,
    ChunkingStrategy,
    Filter,
    RankingOptions,
    StaticChunking,
)

Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)]
FileAttributes = Annotated[Attributes, Field(max_length=16)]


class CreateVectorStore(RequestModel):
    """OpenAI's create body, plus `embedding_model` (default: the word-embedding model)."""

    name: Annotated[str, StringConstraints(max_length=256)] | None = None
    description: Annotated[str, StringConstraints(max_length=512)] | None = None
    file_ids: Annotated[list[Identifier], Field(max_length=500)] = Field(default_factory=list)
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None
    embedding_model: Identifier | None = None

    @model_validator(mode="after")
    def _chunking_with_files(self) -> Self:
        if self.chunking_strategy is not None and not self.file_ids:
            raise invalid_field(
                "chunking_strategy", self.chunking_strategy.model_dump(), "nothing without file_ids (it cuts those)"
            )
        return self


class ModifyVectorStore(RequestModel):
    """OpenAI's modify body."""

    name: Annotated[str, StringConstraints(max_length=256)] | None = None
    metadata: Metadata | None = None


class CreateVectorStoreFile(RequestModel):
    """OpenAI's body to attach one file."""

    file_id: Identifier
    chunking_strategy: ChunkingStrategy | None = None
    attributes: FileAttributes | None = None


class UpdateVectorStoreFile(RequestModel):
    """OpenAI's body to change a file's attributes."""

    attributes: FileAttributes


class CreateFileBatch(RequestModel):
    """OpenAI's body to attach several files with the same chunking and attributes."""

    file_ids: Annotated[list[Identifier], Field(min_length=1, max_length=500)]
    chunking_strategy: ChunkingStrategy | None = None
    attributes: FileAttributes | None = None


class SearchVectorStore(RequestModel):
    """OpenAI's search body; `rewrite_query` may only be false (queries are searched as written)."""

    query: Annotated[str, StringConstraints(min_length=1)] | Annotated[list[str], Field(min_length=1, max_length=16)]
    max_num_results: int = Field(default=10, ge=1, le=50)
    filters: Filter | None = None
    ranking_options: RankingOptions = Field(default_factory=RankingOptions)
    rewrite_query: Literal[False] = False


class VectorStore(BaseModel):
    """OpenAI's `vector_store` object, plus the store's `embedding_model`."""

    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str | None
    description: str | None = None
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: None = None
    expires_at: None = None
    last_active_at: int
    metadata: dict[str, str] | None
    embedding_model: str

    @classmethod
    def of(cls, record: VectorStoreRecord, counts: FileCounts, usage_bytes: int) -> VectorStore:
        return cls(
            id=record.id,
            created_at=record.created_at,
            name=record.name,
            description=record.description,
            usage_bytes=usage_bytes,
            file_counts=counts,
            status="in_progress" if counts.in_progress else "completed",
            last_active_at=record.last_active_at,
            metadata=record.metadata,
            embedding_model=record.embedding_model,
        )


class StaticStrategy(BaseModel):
    """A file's chunking as OpenAI reports it (`auto` shows its sizes)."""

    type: Literal["static"] = "static"
    static: StaticChunking


class VectorStoreFile(BaseModel):
    """OpenAI's `vector_store.file` object, plus how many chunks it holds."""

    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    usage_bytes: int
    created_at: int
    vector_store_id: str
    status: FileStatus
    last_error: FileError | None
    chunking_strategy: StaticStrategy
    attributes: dict[str, AttributeValue]
    chunks: int

    @classmethod
    def of(cls, record: VectorStoreFileRecord) -> VectorStoreFile:
        return cls(
            id=record.id,
            usage_bytes=record.usage_bytes,
            created_at=record.created_at,
            vector_store_id=record.vector_store_id,
            status=record.status,
            last_error=record.last_error,
            chunking_strategy=StaticStrategy(static=record.chunking),
            attributes=record.attributes,
            chunks=record.chunks,
        )


class FileBatch(BaseModel):
    """OpenAI's `vector_store.files_batch` object."""

    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: FileStatus
    file_counts: FileCounts


class Deleted(BaseModel):
    """OpenAI's deletion answer (`vector_store.deleted`, `vector_store.file.deleted`)."""

    id: str
    object: str
    deleted: bool = True


class TextContent(BaseModel):
    """A search result's text."""

    type: Literal["text"] = "text"
    text: str


class Ranking(BaseModel):
    """How a result was ranked: its relevance, its provenance scores, the prior from them and the blended score."""

    relevance: float
    auth_weight: float
    prov_entropy: float
    prior: float
    score: float
    distrust: float


class SearchResult(BaseModel):
    """One of OpenAI's search results, with its ranking and provenance."""

    file_id: str
    filename: str
    score: float
    attributes: dict[str, AttributeValue]
    content: list[TextContent]
    chunk_index: int
    ranking: Ranking
    provenance: dict[str, Any]  # open: the scorer's breakdown of the chunk

    @classmethod
    def of(cls, found: Found, distrust: float) -> SearchResult:
        ranked, hit = found.ranked, found.ranked.hit
        return cls(
            file_id=hit.file_id,
            filename=found.filename,
            score=ranked.score,
            attributes=hit.attributes,
            content=[TextContent(text=hit.text)],
            chunk_index=hit.index,
            ranking=Ranking(
                relevance=hit.relevance,
                auth_weight=hit.auth_weight,
                prov_entropy=hit.prov_entropy,
                prior=ranked.prior,
                score=ranked.score,
                distrust=distrust,
            ),
            provenance=hit.provenance,
        )


class SearchResultsPage(BaseModel):
    """OpenAI's `vector_store.search_results.page`."""

    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool = False
    next_page: str | None = None
