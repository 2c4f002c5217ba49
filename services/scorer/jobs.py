"""Dataset preparation as a kind of job on the shared job system: creating, reading, following, cancelling."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from services.scorer.pair_files import check_pair_inputs
from services.scorer.prepare_files import check_inputs
from shared.files import FileService
from shared.jobs.records import TERMINAL
from shared.jobs.store import JobKind, JobStore
from shared.schemas.preference_pairs import PairOptions
from shared.schemas.preparation import PreparationInput, PreparationOptions, PreparationRecord

WATCH_POLL_S = 0.3
QUEUE = "preparation"  # the scorer workers' Celery queue
PREPARE_TASK = "distrust.prepare"


PREPARATION = JobKind("dsjob", PreparationRecord, "dataset job", "job_id", not_found_code="job_not_found")


class PreparationService:
    """Creates, reads, follows and cancels preparation jobs; a scorer worker runs them."""

    def __init__(self, store: JobStore[PreparationRecord], files: FileService, enqueue: Callable[[str], None]) -> None:
        self.store = store
        self.files = files
        self.enqueue = enqueue

    def create(
        self,
        owner: str,
        inputs: Sequence[PreparationInput],
        options: PreparationOptions,
        pairs: PairOptions | None = None,
    ) -> PreparationRecord:
        """Check the inputs are the owner's files of the right purpose, store the job queued, and queue it.

        With `pairs`, the job builds preference pairs from its one input instead of preparing examples.
        """
        if pairs is None:
            check_inputs(self.files, owner, inputs)
        else:
            check_pair_inputs(self.files, owner, inputs, pairs)
        job = self.store.create(PreparationRecord(owner=owner, inputs=list(inputs), options=options, pairs=pairs))
        self.enqueue(job.id)
        return job

    def get(self, owner: str, job_id: str) -> PreparationRecord:
        """The owner's job, or NotFound."""
        return self.store.get_owned(job_id, owner)

    def watch(self, owner: str, job_id: str, poll_s: float = WATCH_POLL_S) -> Iterator[PreparationRecord]:
        """The job now and after each change, until it ends."""
        job = self.store.get_owned(job_id, owner)
        yield job
        while job.status not in TERMINAL:
            time.sleep(poll_s)
            current = self.store.get_owned(job_id, owner)
            if current != job:
                yield current
            job = current

    def cancel(self, owner: str, job_id: str) -> PreparationRecord:
        """Ask the owner's unfinished job to stop; the worker notices between progress events."""
        return self.store.cancel_owned(job_id, owner)
