"""The Batch API's use cases in the gateway: create (input checked line by line, then queued), read, list, cancel."""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable

from services.gateway.batches.lines import read_items
from services.gateway.batches.records import BatchEndpoint, BatchRecord, RequestCounts
from shared.errors import FailedPrecondition, NotFound, invalid_field
from shared.files import FileService, Purpose
from shared.jobs.records import JobStatus
from shared.jobs.store import JobStore, status_event
from shared.storage import Bucket

logger = logging.getLogger(__name__)
QUEUE = "batch"
TASK = "distrust.batch"


class BatchService:
    """Every method takes the caller's owner and sees only the owner's batches."""

    def __init__(self, store: JobStore[BatchRecord], files: FileService, enqueue: Callable[[str], None]) -> None:
        self.store = store
        self.files = files
        self.enqueue = enqueue

    def create(
        self, owner: str, *, input_file_id: str, endpoint: BatchEndpoint, metadata: dict[str, str] | None
    ) -> BatchRecord:
        """Check every line of the input file, then queue the batch; nothing is queued when a line is bad."""
        try:
            source = self.files.get(owner=owner, file_id=input_file_id)
        except NotFound:
            raise invalid_field("input_file_id", input_file_id, "the id of one of your files") from None
        if source.purpose != Purpose.BATCH:
            raise invalid_field(
                "input_file_id", input_file_id, f'a file with purpose "batch" (this one is "{source.purpose}")'
            )
        items = read_items(self.files.store.iter_lines(Bucket.FILES, source.storage_key), endpoint)
        record = BatchRecord(
            owner=owner,
            input_file_id=input_file_id,
            endpoint=endpoint,
            metadata=metadata or None,
            request_counts=RequestCounts(total=len(items)),
            status=JobStatus.QUEUED,
        )
        self.store.create(record)
        self.store.add_event(record.id, status_event(f"Batch of {len(items)} requests created", JobStatus.QUEUED))
        self.enqueue(record.id)
        logger.info("batch queued", extra={"batch_id": record.id, "requests": len(items), "endpoint": endpoint})
        return record

    def get(self, owner: str, batch_id: str) -> BatchRecord:
        return self.store.get_owned(batch_id, owner)

    def answered_files(self, owner: str, batch_id: str) -> tuple[str, str]:
        """A batch's output file and its input file (the requests); FailedPrecondition before it has an output."""
        batch = self.get(owner, batch_id)
        if batch.output_file_id is None:
            raise FailedPrecondition(
                f"batch_id: batch {batch.id} has no output file yet (status {batch.batch_status})", param="batch_id"
            )
        return batch.output_file_id, batch.input_file_id

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[builtins.list[BatchRecord], bool]:
        return self.store.list_owned(owner, after=after, limit=limit)

    def cancel(self, owner: str, batch_id: str) -> BatchRecord:
        """Ask the batch to stop: requests in flight finish, the rest are not run, the files hold what was done."""
        self.store.cancel_owned(batch_id, owner)
        now = int(time.time())
        return self.store.update(batch_id, lambda r: setattr(r, "cancelling_at", r.cancelling_at or now))
