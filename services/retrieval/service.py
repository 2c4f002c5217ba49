"""Vector stores' use cases: stores, their files and file batches, owner-scoped; ingestion is queued as a job.

Files are checked when attached (yours, a text type, not empty), so a bad one is refused with its field named
before anything is queued; what only reading can tell (not UTF-8, no tokens) fails that file with `last_error`.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath

from services.retrieval.index import ChunkIndex
from services.retrieval.records import (
    FileBatchRecord,
    FileCounts,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from services.retrieval.repository import StoreRepository, page_after
from shared.errors import FailedPrecondition, NotFound, invalid_field
from shared.files import FileService
from shared.files.models import FileObject, Purpose
from shared.jobs.records import JobStatus
from shared.jobs.store import JobStore, status_event
from shared.schemas.vector_stores import AttributeValue, AutoChunkingStrategy, ChunkingStrategy

logger = logging.getLogger(__name__)
QUEUE = "vectors"
TASK = "distrust.vectors.ingest"
MAX_FILES_PER_BATCH = 500
TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".md",
        ".markdown",
        ".rst",
        ".text",
        ".html",
        ".htm",
        ".xml",
        ".json",
        ".jsonl",
        ".csv",
        ".tsv",
        ".tex",
        ".yaml",
        ".yml",
        ".py",
        ".js",
        ".ts",
        ".java",
        ".c",
        ".cc",
        ".cpp",
        ".h",
        ".hpp",
        ".go",
        ".rs",
        ".rb",
        ".php",
        ".sh",
        ".css",
        ".sql",
    ]
)
ATTACHABLE = frozenset({Purpose.ASSISTANTS, Purpose.RAW, Purpose.FINE_TUNE, Purpose.EVALS, Purpose.BATCH})


class VectorStoreService:
    """Every method takes the caller's owner and sees only the owner's stores."""

    def __init__(
        self,
        repo: StoreRepository,
        files: FileService,
        index: ChunkIndex,
        batches: JobStore[FileBatchRecord],
        enqueue: Callable[[str], None] | None,
    ) -> None:
        """`enqueue` queues an ingestion; None in a process that only searches (an evaluation worker)."""
        self.repo = repo
        self.files = files
        self.index = index
        self.batches = batches
        self.enqueue = enqueue

    # Stores

    def create(
        self,
        owner: str,
        *,
        embedding_model: str,
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        file_ids: Sequence[str] = (),
        chunking: ChunkingStrategy | None = None,
    ) -> VectorStoreRecord:
        """A new store; with `file_ids`, their ingestion is queued as the store's first file batch."""
        sources = self._attachable(owner, file_ids, "file_ids") if file_ids else []
        record = VectorStoreRecord(
            owner=owner, name=name, description=description, metadata=metadata, embedding_model=embedding_model
        )
        self.repo.save(record, new=True)
        if sources:
            self._queue(record, sources, chunking or AutoChunkingStrategy(), {})
        logger.info("vector store created", extra={"vector_store_id": record.id, "files": len(sources)})
        return record

    def get(self, owner: str, store_id: str) -> VectorStoreRecord:
        record = self.repo.get(store_id) if store_id.startswith("vs_") else None
        if record is None or record.owner != owner:
            raise NotFound(f"No such vector store: {store_id}", param="vector_store_id", code="vector_store_not_found")
        return record

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[builtins.list[VectorStoreRecord], bool]:
        ids, more = page_after(self.repo.store_ids(owner), after, limit)
        return self.repo.get_stores(ids), more

    def modify(
        self, owner: str, store_id: str, *, name: str | None, metadata: dict[str, str] | None
    ) -> VectorStoreRecord:
        self.get(owner, store_id)

        def change(record: VectorStoreRecord) -> None:
            record.name = name if name is not None else record.name
            record.metadata = metadata if metadata is not None else record.metadata

        return self._updated(store_id, change)

    def delete(self, owner: str, store_id: str) -> VectorStoreRecord:
        """The store, its files' records and its chunks; batches still running are cancelled."""
        record = self.get(owner, store_id)
        for batch_id in {f.batch_id for f in self.repo.get_files(store_id) if f.status == "in_progress"}:
            self.batches.request_cancel(batch_id)
        self.repo.delete_store(record)
        self.index.drop_store(store_id)
        logger.info("vector store deleted", extra={"vector_store_id": store_id})
        return record

    def counts(self, store_id: str) -> tuple[FileCounts, int]:
        """The store's file counts and the bytes its indexed files hold."""
        files = self.repo.get_files(store_id)
        return FileCounts.of(files), sum(f.usage_bytes for f in files)

    def touch(self, store_id: str) -> None:
        self.repo.update(store_id, lambda r: setattr(r, "last_active_at", int(time.time())))

    # Files

    def add_files(
        self,
        owner: str,
        store_id: str,
        file_ids: Sequence[str],
        *,
        chunking: ChunkingStrategy | None,
        attributes: dict[str, AttributeValue] | None,
        field: str = "file_ids",
    ) -> FileBatchRecord:
        """Queue the ingestion of `file_ids` (one file or a file batch); each is checked first."""
        store = self.get(owner, store_id)
        sources = self._attachable(owner, file_ids, field)
        return self._queue(store, sources, chunking or AutoChunkingStrategy(), attributes or {})

    def _attachable(self, owner: str, file_ids: Sequence[str], field: str) -> builtins.list[FileObject]:
        if len(file_ids) > MAX_FILES_PER_BATCH:
            raise invalid_field(field, f"{len(file_ids)} files", f"at most {MAX_FILES_PER_BATCH} files")
        if len(set(file_ids)) != len(file_ids):
            raise invalid_field(field, list(file_ids), "distinct file ids")
        sources = []
        for i, file_id in enumerate(file_ids):
            name = field if field == "file_id" else f"{field}[{i}]"
            try:
                source = self.files.get(owner=owner, file_id=file_id)
            except NotFound:
                raise invalid_field(name, file_id, "the id of one of your files") from None
            suffix = PurePosixPath(source.filename).suffix.lower()
            if source.purpose not in ATTACHABLE or suffix not in TEXT_SUFFIXES:
                raise invalid_field(
                    name, file_id, f"a text file ({' '.join(sorted(TEXT_SUFFIXES))}); {source.filename!r} is not one"
                )
            if source.bytes == 0:
                raise invalid_field(name, file_id, f"a file with text in it; {source.filename!r} is empty")
            sources.append(source)
        return sources

    def _queue(
        self,
        store: VectorStoreRecord,
        sources: Sequence[FileObject],
        chunking: ChunkingStrategy,
        attributes: dict[str, AttributeValue],
    ) -> FileBatchRecord:
        if self.enqueue is None:
            raise FailedPrecondition("vector store files can only be added through the gateway")
        batch = FileBatchRecord(
            owner=store.owner, vector_store_id=store.id, file_ids=[s.id for s in sources], status=JobStatus.QUEUED
        )
        self.batches.create(batch)
        for source in sources:
            self.repo.delete_file(store.id, source.id)  # attaching again replaces the file's chunks
            record = VectorStoreFileRecord(
                id=source.id,
                vector_store_id=store.id,
                owner=store.owner,
                chunking=chunking.size,
                chunking_type=chunking.type,
                attributes=attributes,
                batch_id=batch.id,
            )
            self.repo.save_file(record, new=True)
        if attributes:
            self._updated(store.id, lambda r: _add_keys(r, attributes))
        self.batches.add_event(batch.id, status_event(f"{len(sources)} files queued", JobStatus.QUEUED))
        self.enqueue(batch.id)
        logger.info("file batch queued", extra={"batch_id": batch.id, "vector_store_id": store.id})
        return batch

    def get_file(self, owner: str, store_id: str, file_id: str) -> VectorStoreFileRecord:
        self.get(owner, store_id)
        record = self.repo.get_file(store_id, file_id)
        if record is None:
            raise _no_file(store_id, file_id)
        return record

    def list_files(
        self,
        owner: str,
        store_id: str,
        *,
        after: str | None,
        limit: int,
        status: str | None = None,
        batch_id: str | None = None,
    ) -> tuple[builtins.list[VectorStoreFileRecord], bool]:
        self.get(owner, store_id)
        chosen = [
            f
            for f in self.repo.get_files(store_id)
            if (status is None or f.status == status) and (batch_id is None or f.batch_id == batch_id)
        ]
        ids, more = page_after([f.id for f in chosen], after, limit)
        by_id = {f.id: f for f in chosen}
        return [by_id[i] for i in ids], more

    def update_file(
        self, owner: str, store_id: str, file_id: str, attributes: dict[str, AttributeValue]
    ) -> VectorStoreFileRecord:
        """New attributes for the file (filters read them; its chunks are not embedded again)."""
        self.get_file(owner, store_id, file_id)
        record = self.repo.update_file(store_id, file_id, lambda r: setattr(r, "attributes", attributes))
        if record is None:
            raise _no_file(store_id, file_id)
        self._updated(store_id, lambda r: _add_keys(r, attributes))
        return record

    def delete_file(self, owner: str, store_id: str, file_id: str) -> VectorStoreFileRecord:
        """The file leaves the store with all its chunks (the stored file itself stays)."""
        record = self.get_file(owner, store_id, file_id)
        self.repo.delete_file(store_id, file_id)
        self.index.delete_file(store_id, file_id)
        return record

    # File batches

    def get_batch(self, owner: str, store_id: str, batch_id: str) -> FileBatchRecord:
        self.get(owner, store_id)
        batch = self.batches.get_owned(batch_id, owner)
        if batch.vector_store_id != store_id:
            raise NotFound(f"No such file batch in vector store {store_id}: {batch_id}", param="batch_id")
        return batch

    def batch_counts(self, batch: FileBatchRecord) -> FileCounts:
        files = [f for f in self.repo.get_files(batch.vector_store_id, batch.file_ids) if f.batch_id == batch.id]
        return FileCounts.of(files)

    def cancel_batch(self, owner: str, store_id: str, batch_id: str) -> FileBatchRecord:
        """Stop the batch: files already indexed stay; the rest end `cancelled` with none of their chunks."""
        self.get_batch(owner, store_id, batch_id)
        return self.batches.cancel_owned(batch_id, owner)

    def _updated(self, store_id: str, change: Callable[[VectorStoreRecord], None]) -> VectorStoreRecord:
        record = self.repo.update(store_id, change)
        if record is None:
            raise NotFound(f"No such vector store: {store_id}", param="vector_store_id", code="vector_store_not_found")
        return record


def _no_file(store_id: str, file_id: str) -> NotFound:
    return NotFound(f"No such file in vector store {store_id}: {file_id}", param="file_id", code="file_not_found")


def _add_keys(record: VectorStoreRecord, attributes: dict[str, AttributeValue]) -> None:
    record.attribute_keys = sorted(set(record.attribute_keys) | set(attributes))
