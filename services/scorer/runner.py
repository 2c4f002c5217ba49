"""Running one preparation job on a scorer worker: lease, prepare, store the outputs, record them.

A run that dies (kill -9) leaves no outputs and no lease; the reaper queues the job again and it starts over.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from services.scorer.preparation import ProgressEvent
from services.scorer.prepare_files import PrepareOutcome, prepare_stored_files
from shared.errors import Cancelled
from shared.files import FileService
from shared.jobs import lifecycle
from shared.jobs.lifecycle import LeasedRunner
from shared.jobs.records import JobStatus
from shared.jobs.store import JobStore
from shared.schemas.preparation import PreparationProgress, PreparationRecord

SAVE_EVERY_S = 0.5


@dataclass(frozen=True)
class PreparationContext:
    """What a worker needs to run preparation jobs."""

    store: JobStore[PreparationRecord]
    files: FileService
    holder: str
    lease_ttl_s: int
    progress_delay_s: float = 0.0  # test-only: a pause after each progress event, so a run has a middle


class _LeaseLost(Exception):
    """Another worker may own the job now: stop without touching it."""


class PreparationRunner(LeasedRunner[PreparationContext]):
    """Runs preparation jobs; `run(job_id)` is safe to call twice (redelivery, requeue)."""

    def _run(self, job: PreparationRecord, lost: threading.Event) -> None:
        if self.store.cancel_requested(job.id):
            lifecycle.cancel_unstarted(self.store, job.id)
            return
        lifecycle.start(self.store, job.id, "Preparation started")
        saved_at = 0.0

        def on_progress(event: ProgressEvent) -> None:
            nonlocal saved_at
            if lost.is_set():
                raise _LeaseLost
            if self.store.cancel_requested(job.id):
                raise Cancelled("the preparation was cancelled")
            now = time.monotonic()
            if now - saved_at >= SAVE_EVERY_S or event.stage == "writing":
                saved_at = now
                self.store.update(job.id, lambda record: _set_progress(record, event))
            if self.ctx.progress_delay_s:
                time.sleep(self.ctx.progress_delay_s)

        try:
            outcome = prepare_stored_files(
                self.ctx.files, owner=job.owner, inputs=job.inputs, options=job.options, progress=on_progress
            )
        except _LeaseLost:
            return
        except Cancelled:
            lifecycle.finish(self.store, job.id, JobStatus.CANCELLED, "Preparation cancelled; nothing was stored")
            return
        lifecycle.finish(
            self.store,
            job.id,
            JobStatus.SUCCEEDED,
            f"Prepared {outcome.train_file.id} and {outcome.validation_file.id}",
            lambda record: _set_outputs(record, outcome),
        )


def _set_progress(record: PreparationRecord, event: ProgressEvent) -> None:
    record.progress = PreparationProgress(stage=event.stage, done=event.done, total=event.total, message=event.message)


def _set_outputs(record: PreparationRecord, outcome: PrepareOutcome) -> None:
    record.progress = PreparationProgress(stage="done", done=1, total=1, message="prepared")
    record.train_file = outcome.train_file.id
    record.validation_file = outcome.validation_file.id
    record.report_file = outcome.report_file.id
    record.report = outcome.report
