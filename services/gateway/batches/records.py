"""A batch's record on the shared job system, and how its job status reads as OpenAI's batch status."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.jobs.records import BaseJob, JobStatus, new_id
from shared.jobs.store import JobKind

BatchEndpoint = Literal["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]
COMPLETION_WINDOW_S = {"24h": 24 * 3600}


class RequestCounts(BaseModel):
    """OpenAI's `request_counts`: requests in the input, and those answered or failed so far."""

    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchRecord(BaseJob):
    """A batch: its input file and endpoint, its counts, its output and error files, its stage times."""

    id: str = Field(default_factory=lambda: new_id("batch"))
    input_file_id: str
    endpoint: BatchEndpoint
    completion_window: Literal["24h"] = "24h"
    metadata: dict[str, str] | None = None
    request_counts: RequestCounts = Field(default_factory=RequestCounts)
    output_file_id: str | None = None
    error_file_id: str | None = None
    finalizing_at: int | None = None
    cancelling_at: int | None = None
    expired_at: int | None = None

    @property
    def expires_at(self) -> int:
        """When the completion window closes: requests not answered by then are not run."""
        return self.created_at + COMPLETION_WINDOW_S[self.completion_window]

    @property
    def batch_status(self) -> BatchStatus:
        """The job's status in OpenAI's batch words."""
        if self.status == JobStatus.RUNNING:
            return "finalizing" if self.finalizing_at else "in_progress"
        if self.status == JobStatus.SUCCEEDED:
            return "expired" if self.expired_at else "completed"
        names: dict[JobStatus, BatchStatus] = {
            JobStatus.VALIDATING_FILES: "validating",
            JobStatus.QUEUED: "validating",
            JobStatus.FAILED: "failed",
            JobStatus.CANCELLING: "cancelling",
            JobStatus.CANCELLED: "cancelled",
        }
        return names[self.status]


BATCH = JobKind("batch", BatchRecord, "batch", "batch_id")
