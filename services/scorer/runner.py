"""Running one preparation job on a scorer worker: lease, prepare, store the outputs, record them.

A run that dies (kill -9) leaves no lease; the reaper queues the job again and it starts over. Each output is
recorded on the job as soon as it is stored, so a rerun first removes those a dead run left: one set survives.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.scorer.pair_files import build_stored_pairs
from services.scorer.preparation import ProgressEvent
from services.scorer.prepare_files import PrepareOutcome, prepare_stored_files
from shared.errors import Cancelled, NotFound
from shared.files import FileService
from shared.files.models import FileObject
from shared.jobs import lifecycle
from shared.jobs.lifecycle import LeasedRunner
from shared.jobs.records import JobStatus
from shared.jobs.store import JobStore
from shared.schemas.preparation import PreparationProgress, PreparationRecord

SAVE_EVERY_S = 0.5
OUTPUT_FIELDS = ("train_file", "validation_file", "report_file")


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
        job = lifecycle.start(self.store, job.id, "Preparation started")
        self._remove_partial_outputs(job)
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
            outcome = self._outputs(job, on_progress)
        except _LeaseLost:
            return
        except Cancelled:
            lifecycle.finish(self.store, job.id, JobStatus.CANCELLED, "Preparation cancelled; nothing was stored")
            return
        except Exception:
            self._remove_partial_outputs(self.store.get(job.id) or job)
            raise
        lifecycle.finish(
            self.store,
            job.id,
            JobStatus.SUCCEEDED,
            f"Prepared {outcome.train_file.id} and {outcome.validation_file.id}",
            lambda record: _set_outputs(record, outcome),
        )

    def _outputs(self, job: PreparationRecord, progress: Callable[[ProgressEvent], None]) -> PrepareOutcome:
        """Prepare the job's examples, or build its preference pairs; each output recorded once stored."""

        def on_stored(field: str, file: FileObject) -> None:
            self.store.update(job.id, _setter(field, file.id))

        if job.pairs is not None:
            return build_stored_pairs(
                self.ctx.files,
                owner=job.owner,
                inputs=job.inputs,
                options=job.options,
                pairs=job.pairs,
                progress=progress,
                on_stored=on_stored,
            )
        return prepare_stored_files(
            self.ctx.files,
            owner=job.owner,
            inputs=job.inputs,
            options=job.options,
            progress=progress,
            on_stored=on_stored,
        )

    def _remove_partial_outputs(self, job: PreparationRecord) -> None:
        for field in OUTPUT_FIELDS:
            file_id = getattr(job, field)
            if file_id is None:
                continue
            with contextlib.suppress(NotFound):
                self.ctx.files.delete(owner=job.owner, file_id=file_id)
            self.store.update(job.id, _setter(field, None))


def _setter(field: str, value: str | None) -> Callable[[PreparationRecord], None]:
    def mutate(record: PreparationRecord) -> None:
        setattr(record, field, value)

    return mutate


def _set_progress(record: PreparationRecord, event: ProgressEvent) -> None:
    record.progress = PreparationProgress(stage=event.stage, done=event.done, total=event.total, message=event.message)


def _set_outputs(record: PreparationRecord, outcome: PrepareOutcome) -> None:
    record.progress = PreparationProgress(stage="done", done=1, total=1, message="prepared")
    record.train_file = outcome.train_file.id
    record.validation_file = outcome.validation_file.id
    record.report_file = outcome.report_file.id
    record.report = outcome.report
