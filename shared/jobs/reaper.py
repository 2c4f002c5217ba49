"""Finds jobs whose worker died (running, but nobody renews the lease) and queues them again to resume."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from shared.jobs import lifecycle
from shared.jobs.records import BaseJob, JobStatus
from shared.jobs.store import JobStore, status_event

logger = logging.getLogger(__name__)


def requeue_orphans(store: JobStore[Any], enqueue: Callable[[str], None]) -> list[str]:
    """Queue again every running job without a lease holder; return their ids.

    A job cancelled while still queued needs no worker: it ends `cancelled` here.
    """
    requeued = []
    for job_id in store.active_ids():
        job = store.get(job_id)
        if job is None or job.status not in (JobStatus.RUNNING, JobStatus.CANCELLING):
            continue
        if store.lease_holder(job_id) is not None:
            continue
        if job.status == JobStatus.CANCELLING and job.started_at is None:
            lifecycle.cancel_unstarted(store, job_id)
            continue
        where, step = store.resume_note(job_id)

        def back_to_queue(record: BaseJob) -> None:
            if record.status == JobStatus.RUNNING:
                record.status = JobStatus.QUEUED

        store.update(job_id, back_to_queue)
        store.add_event(
            job_id,
            status_event(
                f"The worker running this job stopped; it resumes from {where} when a worker is available",
                JobStatus.QUEUED,
                level="warn",
                step=step,
            ),
        )
        enqueue(job_id)
        requeued.append(job_id)
        logger.warning("requeued orphaned job", extra={"job_id": job_id, "checkpoint_step": step})
    return requeued


class Reaper:
    """Watches every kind of job: `queues` pairs each store with the function that queues its jobs."""

    def __init__(self, queues: list[tuple[JobStore[Any], Callable[[str], None]]], interval_s: float) -> None:
        self.queues = queues
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                for store, enqueue in self.queues:
                    requeue_orphans(store, enqueue)
            except Exception:
                logger.exception("reaper pass failed")
