"""The Batch API over HTTP, shaped like openai-python's `Batch` and `BatchCreateParams`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from services.gateway.batches.records import BatchEndpoint, BatchRecord, BatchStatus, RequestCounts
from services.gateway.schemas.common import Identifier
from shared.schemas.request import RequestModel

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]


class CreateBatch(RequestModel):
    """OpenAI's create body."""

    input_file_id: Identifier
    endpoint: BatchEndpoint
    completion_window: Literal["24h"]
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)] | None = None


class BatchError(BaseModel):
    """One of OpenAI's `errors.data`."""

    code: str
    message: str
    param: str | None = None
    line: int | None = None


class BatchErrors(BaseModel):
    """OpenAI's `errors` list."""

    object: Literal["list"] = "list"
    data: list[BatchError]


class Batch(BaseModel):
    """OpenAI's `batch` object."""

    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    errors: BatchErrors | None = None
    input_file_id: str
    completion_window: str
    status: BatchStatus
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts
    metadata: dict[str, str] | None = None

    @classmethod
    def of(cls, record: BatchRecord) -> Batch:
        """The record as OpenAI's object: each stage's time from the job's timestamps."""
        status = record.batch_status
        error = record.error
        return cls(
            id=record.id,
            endpoint=record.endpoint,
            errors=BatchErrors(data=[BatchError(code=error.code, message=error.message, param=error.param)])
            if error
            else None,
            input_file_id=record.input_file_id,
            completion_window=record.completion_window,
            status=status,
            output_file_id=record.output_file_id,
            error_file_id=record.error_file_id,
            created_at=record.created_at,
            in_progress_at=record.started_at,
            expires_at=record.expires_at,
            finalizing_at=record.finalizing_at,
            completed_at=record.finished_at if status == "completed" else None,
            failed_at=record.finished_at if status == "failed" else None,
            expired_at=record.expired_at,
            cancelling_at=record.cancelling_at,
            cancelled_at=record.finished_at if status == "cancelled" else None,
            request_counts=record.request_counts,
            metadata=record.metadata,
        )
