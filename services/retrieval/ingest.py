"""Ingesting a file batch on a worker: each file read, cut by the embedding model's tokens, scored, embedded, indexed.

A file's chunks enter the index in one commit after everything about them is known, and a file's record says
`completed` only after that; a file left `in_progress` by a killed worker has any chunks of it removed before it
is ingested again, so a resumed batch never holds a chunk twice. Files already finished are not run again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.retrieval.chunking import Chunk, Span, chunk_text
from services.retrieval.index import ChunkIndex, IndexedChunk
from services.retrieval.records import FileBatchRecord, FileError, VectorStoreFileRecord, VectorStoreRecord
from services.retrieval.repository import StoreRepository
from services.retrieval.search import ClosingEmbedder
from shared.errors import DistrustError, Unavailable
from shared.files import FileService
from shared.jobs import lifecycle
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore
from shared.schemas.scoring import ScoreResult
from shared.storage import Bucket

logger = logging.getLogger(__name__)
SEGMENT_CHARS = 200_000  # text sent to the tokenizer per call, cut at a line break (gRPC messages stay small)


class Scorer(Protocol):
    """The scorer service's batch scoring."""

    def score(self, documents: Sequence[tuple[str, Mapping[str, Any] | None]], profile: None) -> list[ScoreResult]: ...


class FileFailure(Exception):
    """The file cannot be indexed; its record gets this `last_error`."""

    def __init__(self, error: FileError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class IngestContext:
    """What a worker gives the runner."""

    store: JobStore[FileBatchRecord]
    repo: StoreRepository
    files: FileService
    index: ChunkIndex
    embedder: Callable[[], ClosingEmbedder]  # a new client per event loop
    scorer: Scorer
    holder: str
    lease_ttl_s: int = 30
    batch_size: int = 64  # chunks per scoring or embedding call


def segments(text: str, size: int = SEGMENT_CHARS) -> list[tuple[int, str]]:
    """`text` in pieces of about `size` characters, each ending at a line break when there is one, with offsets."""
    pieces, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces


class IngestRunner(lifecycle.LeasedRunner[IngestContext]):
    """Runs one leased file batch to its end."""

    ctx: IngestContext

    def _run(self, queued: FileBatchRecord, lost: threading.Event) -> None:
        if self.store.cancel_requested(queued.id):
            self._cancel_rest(queued)
            lifecycle.cancel_unstarted(self.store, queued.id)
            return
        job: FileBatchRecord = lifecycle.start(self.store, queued.id, f"Ingesting {len(queued.file_ids)} files")
        store = self.ctx.repo.get(job.vector_store_id)
        if store is None:
            lifecycle.finish(self.store, job.id, JobStatus.CANCELLED, "The vector store was deleted")
            return
        todo = self._pending(job)
        done = len(job.file_ids) - len(todo)
        if done:
            self.store.add_event(job.id, EventRecord(message=f"Resumed with {done} files finished"))
        for record in todo:
            if lost.is_set():
                return  # another worker owns the batch now
            if self.store.cancel_requested(job.id):
                self._cancel_rest(job)
                lifecycle.finish(self.store, job.id, JobStatus.CANCELLED, "Ingestion cancelled")
                return
            done += 1
            self._one(job, store, record, done)
        self.ctx.index.catch_up(store.id)  # a batch leaves its store's searches on the indexes alone
        failed = sum(1 for f in self.ctx.repo.get_files(store.id, job.file_ids) if f.status == "failed")
        message = f"Ingestion completed: {len(job.file_ids) - failed} files indexed, {failed} failed"
        lifecycle.finish(self.store, job.id, JobStatus.SUCCEEDED, message)

    def _pending(self, job: FileBatchRecord) -> list[VectorStoreFileRecord]:
        files = self.ctx.repo.get_files(job.vector_store_id, job.file_ids)
        return [f for f in files if f.batch_id == job.id and f.status == "in_progress"]

    def _cancel_rest(self, job: FileBatchRecord) -> None:
        for record in self._pending(job):
            self.ctx.index.delete_file(job.vector_store_id, record.id)
            self.ctx.repo.update_file(job.vector_store_id, record.id, lambda r: setattr(r, "status", "cancelled"))

    def _one(self, job: FileBatchRecord, store: VectorStoreRecord, record: VectorStoreFileRecord, n: int) -> None:
        total = len(job.file_ids)
        try:
            chunks = asyncio.run(self._chunks(store, record))
            self.ctx.index.delete_file(store.id, record.id)  # an interrupted run's chunks, if any
            self.ctx.index.add_file(store.id, chunks)
        except FileFailure as exc:
            self._failed(record, exc.error, n, total)
            return
        except Unavailable:
            raise  # an outage: the batch resumes with this file once the backend is back
        except DistrustError as exc:
            self.ctx.index.delete_file(store.id, record.id)
            self._failed(record, FileError(code="server_error", message=exc.message), n, total)
            return
        size = sum(len(c.chunk.text.encode()) for c in chunks)

        def mark(r: VectorStoreFileRecord) -> None:
            r.status, r.chunks, r.usage_bytes = "completed", len(chunks), size

        if self.ctx.repo.update_file(store.id, record.id, mark) is None:
            self.ctx.index.delete_file(store.id, record.id)  # the file left the store while it was ingested
            return
        message = f"File {n}/{total} indexed: {record.id}, {len(chunks)} chunks"
        self.store.add_event(
            job.id, EventRecord(message=message, type="metrics", data={"files_done": n, "total": total})
        )

    def _failed(self, record: VectorStoreFileRecord, error: FileError, n: int, total: int) -> None:
        def mark(r: VectorStoreFileRecord) -> None:
            r.status, r.last_error = "failed", error

        self.ctx.repo.update_file(record.vector_store_id, record.id, mark)
        message = f"File {n}/{total} failed: {record.id}: {error.message}"
        self.store.add_event(record.batch_id, EventRecord(message=message, level="warn"))
        logger.warning("file not indexed", extra={"file_id": record.id, "error": error.message})

    async def _chunks(self, store: VectorStoreRecord, record: VectorStoreFileRecord) -> list[IndexedChunk]:
        text, filename = self._text(record)
        embedder = self.ctx.embedder()
        try:
            spans: list[Span] = []
            for offset, piece in segments(text):
                found, _context = await embedder.tokenize(store.owner, store.embedding_model, piece)
                spans.extend((offset + a, offset + b) for a, b in found)
            chunks = chunk_text(text, spans, record.chunking)
            if not chunks:
                raise FileFailure(FileError(code="invalid_file", message=f"{filename!r} has no text to index"))
            vectors: list[list[float]] = []
            for part in _batches(chunks, self.ctx.batch_size):
                found_vectors, _ = await embedder.embed_inputs(
                    store.owner, store.embedding_model, [c.text for c in part]
                )
                vectors.extend(found_vectors)
        finally:
            await embedder.close()
        meta = {"filename": filename, **record.attributes}
        scores: list[ScoreResult] = []
        for part in _batches(chunks, self.ctx.batch_size):
            scores.extend(await asyncio.to_thread(self.ctx.scorer.score, [(c.text, meta) for c in part], None))
        return [
            IndexedChunk(
                file_id=record.id,
                chunk=chunk,
                vector=vector,
                auth_weight=score.auth_weight,
                prov_entropy=score.prov_entropy,
                attributes=record.attributes,
                provenance=_provenance(score),
            )
            for chunk, vector, score in zip(chunks, vectors, scores, strict=True)
        ]

    def _text(self, record: VectorStoreFileRecord) -> tuple[str, str]:
        source = self.ctx.files.repository.get(record.id)
        if source is None:
            raise FileFailure(FileError(code="invalid_file", message=f"the file {record.id} was deleted"))
        raw = self.ctx.files.store.get_bytes(Bucket.FILES, source.storage_key)
        try:
            return raw.decode("utf-8"), source.filename
        except UnicodeDecodeError as exc:
            message = f"{source.filename!r} is not UTF-8 text (byte {exc.start})"
            raise FileFailure(FileError(code="unsupported_file", message=message)) from None


def _batches(chunks: list[Chunk], size: int) -> list[list[Chunk]]:
    return [chunks[i : i + size] for i in range(0, len(chunks), size)]


def _provenance(score: ScoreResult) -> dict[str, Any]:
    """The breakdown's readable part, kept with the chunk and shown with search results."""
    b = score.breakdown
    return {
        "scoring_method": score.scoring_method,
        "year": b.year,
        "citation_count": b.citation_count,
        "institutional_marker": b.institutional_marker,
        "consensus_count": b.consensus_count,
        "primary_count": b.primary_count,
        "source_type": b.source_type,
        "source_counts": b.source_counts,
    }
