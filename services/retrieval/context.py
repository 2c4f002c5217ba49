"""Retrieval in chat: the stores searched, the best chunks put before the conversation in one stated template.

The context is a system message (merged after the caller's own system message when the conversation starts with
one), numbering each chunk with its source and provenance scores:

    Use the numbered sources below when they help to answer, and cite them by number, like [1]. ...

    [1] log.txt, chunk 3 (authority 0.12, provenance entropy 5.10)
    <the chunk's text>

Several stores are searched one after the other and their results merged by blended score.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from services.retrieval.search import ClosingEmbedder, Embedder, Found, search
from services.retrieval.service import VectorStoreService
from shared.errors import InvalidArgument, NotFound, invalid_field
from shared.schemas.vector_stores import RankingOptions, RetrievalOptions

PREAMBLE = (
    "Use the numbered sources below when they help to answer, and cite them by number, like [1]. Prefer first-hand, "
    "primary sources (low authority, high provenance entropy) over summaries that repeat an official consensus."
)


class Citation(BaseModel):
    """A chunk given to the model: its number in the context, where it comes from and its scores."""

    index: int  # its number in the context, from 1
    vector_store_id: str
    file_id: str
    filename: str
    chunk_index: int
    text: str
    score: float
    relevance: float
    auth_weight: float
    prov_entropy: float


def check_owned(service: VectorStoreService, owner: str, options: RetrievalOptions, field: str = "retrieval") -> None:
    """InvalidArgument naming `<field>.vector_store_ids[i]` for a store that is not one of the owner's."""
    for i, store_id in enumerate(options.vector_store_ids):
        try:
            service.get(owner, store_id)
        except NotFound:
            raise invalid_field(
                f"{field}.vector_store_ids[{i}]", store_id, "the id of one of your vector stores"
            ) from None


def check_task_stores(service: VectorStoreService, owner: str, tasks: Sequence[object]) -> None:
    """`check_owned` for every evaluation task with retrieval options, naming `tasks[i].retrieval…`."""
    for i, task in enumerate(tasks):
        options = getattr(task, "retrieval", None)
        if isinstance(options, RetrievalOptions):
            check_owned(service, owner, options, f"tasks[{i}].retrieval")


async def retrieve(
    service: VectorStoreService, embedder: Embedder, owner: str, options: RetrievalOptions, query: str
) -> list[Citation]:
    """The `max_num_results` best chunks over the stores, best first, numbered."""
    ranking = RankingOptions(distrust=options.distrust, mode=options.mode)
    found: list[tuple[str, Found]] = []
    for i, store_id in enumerate(options.vector_store_ids):
        try:
            _, results = await search(
                service,
                embedder,
                owner,
                store_id,
                query,
                max_num_results=options.max_num_results,
                filters=None,
                ranking=ranking,
            )
        except NotFound:
            raise invalid_field(
                f"retrieval.vector_store_ids[{i}]", store_id, "the id of one of your vector stores"
            ) from None
        except InvalidArgument as exc:
            raise InvalidArgument(f"retrieval: {exc.message}", param=f"retrieval.{exc.param}") from None
        found.extend((store_id, f) for f in results)
    found.sort(key=lambda pair: -pair[1].ranked.score)
    return [
        Citation(
            index=i + 1,
            vector_store_id=store_id,
            file_id=f.ranked.hit.file_id,
            filename=f.filename,
            chunk_index=f.ranked.hit.index,
            text=f.ranked.hit.text,
            score=f.ranked.score,
            relevance=f.ranked.hit.relevance,
            auth_weight=f.ranked.hit.auth_weight,
            prov_entropy=f.ranked.hit.prov_entropy,
        )
        for i, (store_id, f) in enumerate(found[: options.max_num_results])
    ]


def context_text(citations: list[Citation]) -> str:
    """The system text that carries the chunks, in the template above."""
    sources = [
        f"[{c.index}] {c.filename}, chunk {c.chunk_index} (authority {c.auth_weight:.2f}, provenance entropy "
        f"{c.prov_entropy:.2f})\n{c.text.strip()}"
        for c in citations
    ]
    return "\n\n".join([PREAMBLE, *sources])


class Retriever:
    """Blocking retrieval, for workers (evaluations): a new inference client on each call's event loop."""

    def __init__(self, service: VectorStoreService, embedder: Callable[[], ClosingEmbedder]) -> None:
        self.service = service
        self.embedder = embedder

    def __call__(self, owner: str, options: RetrievalOptions, query: str) -> list[Citation]:
        async def run() -> list[Citation]:
            embedder = self.embedder()
            try:
                return await retrieve(self.service, embedder, owner, options, query)
            finally:
                await embedder.close()

        return asyncio.run(run())
