"""Job use cases for the trainer service: create (validated, then queued), read, list, cancel, events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from services.trainer.jobs import spec
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import TERMINAL, CheckpointRecord, EventRecord, JobRecord, JobStatus
from services.trainer.jobs.store import JobStore, status_event
from shared.errors import FailedPrecondition, InvalidArgument, invalid_field
from shared.files import FileService, Purpose
from shared.records import RecordError, parse_json_object, validate_training_record
from shared.storage import Bucket

logger = logging.getLogger(__name__)

MAX_REPORTED = 5
SUFFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
MemoryCheck = Callable[[JobRecord], None]


@dataclass(frozen=True)
class JobRequest:
    owner: str
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int | None
    hyperparameters: dict[str, Any]
    distrust: dict[str, Any]
    lora: dict[str, Any]


class JobService:
    def __init__(self, store: JobStore, files: FileService, sources: ModelSources,
                 enqueue: Callable[[str], None], memory_check: MemoryCheck | None = None) -> None:
        self.store = store
        self.files = files
        self.sources = sources
        self.enqueue = enqueue
        self.memory_check = memory_check

    def create(self, request: JobRequest) -> JobRecord:
        """Validate everything a job needs, refuse what cannot run, then queue it."""
        if request.suffix is not None and (len(request.suffix) > 64 or set(request.suffix) - SUFFIX_CHARS):
            raise invalid_field("suffix", request.suffix, "at most 64 letters, digits, '-' or '_'")
        seed = request.seed if request.seed is not None else int(time.time()) % 2**31
        job = JobRecord(owner=request.owner, model=request.model, training_file=request.training_file,
                        validation_file=request.validation_file or None, suffix=request.suffix, seed=seed,
                        hyperparameters=request.hyperparameters, distrust=request.distrust, lora=request.lora)
        spec.validate_request(job)
        self.sources.classify(request.model)
        require_scores = job.distrust.get("mode", "weighted") in ("weighted", "additive")
        self._check_file("training_file", job.training_file, request.owner, require_scores)
        if job.validation_file:
            self._check_file("validation_file", job.validation_file, request.owner, require_scores)
        if self.memory_check:
            self.memory_check(job)
        job.status = JobStatus.QUEUED
        self.store.create(job)
        self.store.add_event(job.id, status_event(f"Created fine-tuning job {job.id}", JobStatus.QUEUED))
        self.enqueue(job.id)
        logger.info("job queued", extra={"job_id": job.id, "model": job.model})
        return job

    def _check_file(self, field: str, file_id: str, owner: str, require_scores: bool) -> None:
        try:
            record = self.files.get(owner=owner, file_id=file_id)
        except Exception as exc:
            raise invalid_field(field, file_id, "the id of one of your files") from exc
        if record.purpose != Purpose.FINE_TUNE:
            raise invalid_field(field, file_id, f'a file with purpose "fine-tune" (this one is "{record.purpose}")')
        errors: list[str] = []
        examples = 0
        for number, line in enumerate(self.files.store.iter_lines(Bucket.FILES, record.storage_key), start=1):
            if not line.strip():
                continue
            try:
                validate_training_record(parse_json_object(line), require_scores=require_scores)
                examples += 1
            except RecordError as exc:
                errors.append(f"line {number}: {exc}")
                if len(errors) >= MAX_REPORTED:
                    break
        if errors:
            raise InvalidArgument(f"{field} {file_id} cannot be used: " + "; ".join(errors), param=field,
                                  code="invalid_training_file")
        if examples == 0:
            raise invalid_field(field, file_id, "a file with at least one training example")

    def get(self, owner: str, job_id: str) -> JobRecord:
        return self.store.get_owned(job_id, owner)

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[list[JobRecord], bool]:
        if not 1 <= limit <= 100:
            raise invalid_field("limit", limit, "an integer in [1, 100]")
        return self.store.list_owned(owner, after=after, limit=limit)

    def cancel(self, owner: str, job_id: str) -> JobRecord:
        job = self.store.get_owned(job_id, owner)
        if job.status in TERMINAL:
            raise FailedPrecondition(f"Job {job_id} has already {job.status.value}; it cannot be cancelled",
                                     param="fine_tuning_job_id", code="job_finished")
        self.store.request_cancel(job_id)

        def mark(record: JobRecord) -> None:
            if record.status not in TERMINAL:
                record.status = JobStatus.CANCELLING

        job = self.store.update(job_id, mark)
        self.store.add_event(job_id, status_event("Cancellation requested", JobStatus.CANCELLING))
        return job

    def events(self, owner: str, job_id: str, *, after_sequence: int, follow: bool,
               poll_s: float = 0.3) -> Iterator[EventRecord]:
        """Stored events after `after_sequence`; with `follow`, keep sending new ones until the job ends."""
        self.store.get_owned(job_id, owner)
        sequence = after_sequence
        while True:
            batch = self.store.events(job_id, after_sequence=sequence)
            for event in batch:
                sequence = event.sequence
                yield event
            if not follow:
                return
            job = self.store.get(job_id)
            if job is None or (job.status in TERMINAL and not self.store.events(job_id, after_sequence=sequence)):
                return
            time.sleep(poll_s)

    def checkpoints(self, owner: str, job_id: str) -> list[CheckpointRecord]:
        self.store.get_owned(job_id, owner)
        return self.store.checkpoints(job_id)
