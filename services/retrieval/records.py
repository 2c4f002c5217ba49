"""Vector stores, their files and their file batches as stored; the batch is a job on the shared job system.

Attaching one file is a batch of one file: every ingestion is a `FileBatchRecord` job run by the vectors worker,
and each file's own status lives in its `VectorStoreFileRecord`.
"""

from __future__ import annotations

import secrets
import time
from typing import Literal

from pydantic import BaseModel, Field

from shared.jobs.records import BaseJob, JobStatus, new_id
from shared.jobs.store import JobKind
from shared.schemas.vector_stores import AttributeValue, StaticChunking

FileStatus = Literal["in_progress", "completed", "cancelled", "failed"]
FINISHED: frozenset[FileStatus] = frozenset({"completed", "cancelled", "failed"})


def new_store_id() -> str:
    """An OpenAI-style vector store id (`vs_…`)."""
    return "vs_" + secrets.token_hex(12)


class FileError(BaseModel):
    """OpenAI's `last_error` of a vector store file."""

    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreRecord(BaseModel):
    """A store: its name and metadata, the embedding model of its chunks, and the attribute keys its files have."""

    id: str = Field(default_factory=new_store_id)
    owner: str
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    embedding_model: str
    created_at: int = Field(default_factory=lambda: int(time.time()))
    last_active_at: int = Field(default_factory=lambda: int(time.time()))
    attribute_keys: list[str] = Field(default_factory=list)


class VectorStoreFileRecord(BaseModel):
    """One file in one store: its ingestion status, its chunking, its attributes and what it holds once indexed."""

    id: str  # the file's id, as OpenAI's vector store file
    vector_store_id: str
    owner: str
    created_at: int = Field(default_factory=lambda: int(time.time()))
    status: FileStatus = "in_progress"
    last_error: FileError | None = None
    chunking: StaticChunking
    chunking_type: Literal["auto", "static"] = "auto"
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    usage_bytes: int = 0
    chunks: int = 0
    batch_id: str


class FileCounts(BaseModel):
    """OpenAI's `file_counts`."""

    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0

    @classmethod
    def of(cls, files: list[VectorStoreFileRecord]) -> FileCounts:
        counts = cls(total=len(files))
        for record in files:
            setattr(counts, record.status, getattr(counts, record.status) + 1)
        return counts


class FileBatchRecord(BaseJob):
    """The ingestion of some files into one store."""

    id: str = Field(default_factory=lambda: new_id("vsfb"))
    vector_store_id: str
    file_ids: list[str]

    @property
    def batch_status(self) -> FileStatus:
        """The job's status in OpenAI's vector-store words."""
        names: dict[JobStatus, FileStatus] = {
            JobStatus.SUCCEEDED: "completed",
            JobStatus.FAILED: "failed",
            JobStatus.CANCELLED: "cancelled",
        }
        return names.get(self.status, "in_progress")


FILE_BATCH = JobKind("vsfb", FileBatchRecord, "vector store file batch", "batch_id")
