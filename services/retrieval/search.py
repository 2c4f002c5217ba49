"""Searching a vector store: the query embedded by the store's model, filters picking files, provenance blended in.

The index returns a pool of candidates (`CANDIDATES` or 4 × the results asked, whichever is more) by relevance;
`ranking.blend` reorders the pool with the distrust prior, and the best `max_num_results` are kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.retrieval.chunking import Span
from services.retrieval.filters import check_filter, matches
from services.retrieval.ranking import Ranked, blend
from services.retrieval.service import VectorStoreService
from shared.errors import InvalidArgument, NotFound, invalid_field
from shared.schemas.vector_stores import Filter, RankingOptions

CANDIDATES = 50


class Embedder(Protocol):
    """What search and ingestion need from the inference service."""

    async def tokenize(self, owner: str, model: str, text: str) -> tuple[list[Span], int]: ...

    async def embed_inputs(
        self, owner: str, model: str, items: Sequence[str | Sequence[int]], dimensions: int | None = None
    ) -> tuple[list[list[float]], int]: ...


class ClosingEmbedder(Embedder, Protocol):
    """An embedder with a connection of its own, closed by whoever made it."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Found:
    """A ranked chunk and its file's name."""

    ranked: Ranked
    filename: str


async def check_embedding_model(embedder: Embedder, owner: str, model: str) -> None:
    """InvalidArgument naming `embedding_model` unless the inference service can embed with `model`."""
    try:
        await embedder.tokenize(owner, model, "probe")
    except (InvalidArgument, NotFound) as exc:
        raise invalid_field("embedding_model", model, f"a model that embeds ({exc.message})") from None


async def search(
    service: VectorStoreService,
    embedder: Embedder,
    owner: str,
    store_id: str,
    query: str | list[str],
    *,
    max_num_results: int,
    filters: Filter | None,
    ranking: RankingOptions,
) -> tuple[str, list[Found]]:
    """The query as searched, and the best chunks, best first."""
    store = await asyncio.to_thread(service.get, owner, store_id)
    text = query if isinstance(query, str) else "\n".join(query)
    if not text.strip():
        raise invalid_field("query", query, "a query with some text")
    files = await asyncio.to_thread(service.repo.get_files, store_id)
    allowed = None
    if filters is not None:
        check_filter(filters, set(store.attribute_keys))
        allowed = [f.id for f in files if f.status == "completed" and matches(filters, f.attributes)]
    vector = None
    if ranking.mode != "text":
        spans, context = await embedder.tokenize(owner, store.embedding_model, text)
        if len(spans) > context:
            raise invalid_field(
                "query", f"{len(spans)} tokens", f"at most {context} tokens (the embedding model's context)"
            )
        vectors, _ = await embedder.embed_inputs(owner, store.embedding_model, [text])
        vector = vectors[0]
    pool = max(CANDIDATES, 4 * max_num_results)
    hits = await asyncio.to_thread(
        service.index.search, store_id, vector=vector, text=text, limit=pool, mode=ranking.mode, file_ids=allowed
    )
    ranked = [r for r in blend(hits, ranking.distrust) if r.score >= ranking.score_threshold][:max_num_results]
    names = {f.id: f.id for f in files}
    for record in await asyncio.to_thread(service.files.repository.get_many, sorted({r.hit.file_id for r in ranked})):
        names[record.id] = record.filename
    await asyncio.to_thread(service.touch, store_id)
    return text, [Found(r, names.get(r.hit.file_id, r.hit.file_id)) for r in ranked]
