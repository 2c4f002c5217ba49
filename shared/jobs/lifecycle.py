"""The life of any job on a worker: take the lease, keep it alive, run the body, end with a status and an event.

Every kind of job's runner differs only in its body; redelivery, a dead worker's lease
expiring, and a crash ending the job `failed` with the reason work the same way for all of them.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from shared.errors import DistrustError, Unavailable
from shared.jobs.records import TERMINAL, BaseJob, EventRecord, JobError, JobStatus
from shared.jobs.store import JobStore, status_event
from shared.log import log_context

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=BaseJob)

MAX_OUTAGES = 5  # a backend down this many times during one job is not an outage any more: the job fails


def run_leased(
    store: JobStore[R], job_id: str, *, holder: str, lease_ttl_s: int, body: Callable[[R, threading.Event], None]
) -> None:
    """Run `body(job, lost)` unless the job is finished or another worker holds it; safe to call twice.

    `lost` is set when the lease could not be renewed: the body should stop, another worker owns the job.
    A DistrustError ends the job failed with its code and message; any other exception as `internal_error`.
    An Unavailable (object storage or Redis down, a checkpoint write refused) is an outage, not the job's fault:
    the lease is given back and the reaper queues the job again, to resume from its last checkpoint once the
    backend is back (up to MAX_OUTAGES times).
    """
    job = store.get(job_id)
    with log_context(job_id=job_id, request_id=job.request_id if job else None):
        if job is None or job.status in TERMINAL:
            logger.info("nothing to do", extra={"status": job.status if job else None})
            return
        if not store.acquire_lease(job_id, holder, lease_ttl_s):
            logger.info("job is held by another worker", extra={"holder": store.lease_holder(job_id)})
            return
        lost, stop_beat = threading.Event(), threading.Event()
        beat = threading.Thread(
            target=_heartbeat, args=(store, job_id, holder, lease_ttl_s, lost, stop_beat), daemon=True, name="lease"
        )
        beat.start()
        try:
            body(job, lost)
        except Unavailable as exc:
            _outage(store, job_id, exc)
        except DistrustError as exc:
            fail(store, job_id, exc.code, exc.message, exc.param)
        except Exception as exc:
            logger.exception("job crashed")
            fail(store, job_id, "internal_error", f"{type(exc).__name__}: {exc}", None)
        finally:
            stop_beat.set()
            beat.join(5)
            try:
                store.release_lease(job_id, holder)
            except Unavailable:
                logger.warning("could not give the lease back; it lapses on its own")


def _outage(store: JobStore[Any], job_id: str, error: Unavailable) -> None:
    """Leave the job to be resumed once the backend is back, unless it has had too many outages."""
    try:
        outages = store.count_outage(job_id)
        if outages > MAX_OUTAGES:
            fail(store, job_id, error.code, f"{error.message} (the job's {outages}th outage; giving up)", error.param)
            return
        store.add_event(
            job_id,
            EventRecord(
                message=f"A backend is unavailable ({error.message}); the job resumes from its last checkpoint "
                "once it is back",
                level="warn",
            ),
        )
    except Unavailable:
        pass  # Redis itself is down: the lease lapses and the reaper requeues the job once it is back
    logger.warning("job interrupted by an outage", extra={"error": error.message})


def _heartbeat(
    store: JobStore[Any], job_id: str, holder: str, ttl_s: int, lost: threading.Event, stop: threading.Event
) -> None:
    while not stop.wait(ttl_s / 3):
        if not store.renew_lease(job_id, holder, ttl_s):
            logger.error("lost the job lease; stopping")
            lost.set()
            return


def begin(store: JobStore[R], job_id: str, message: str, workdir: Path, *, worker: str | None = None) -> R | None:
    """Start the job with an empty `workdir`; None (and the job cancelled) when a cancel came before it started.

    `worker` (the lease holder) is recorded in the status event: where the job ran.
    """
    if store.cancel_requested(job_id):
        cancel_unstarted(store, job_id)
        return None
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return start(store, job_id, message, worker=worker)


def cancel_unstarted(store: JobStore[Any], job_id: str) -> None:
    """End a job that was cancelled before any worker started it."""
    finish(store, job_id, JobStatus.CANCELLED, f"The {store.kind.label} was cancelled before it started")


def start(store: JobStore[R], job_id: str, message: str, *, worker: str | None = None) -> R:
    """Mark the job running (unless a cancel is already under way) and record `message` (and the worker)."""

    def mark(job: BaseJob) -> None:
        if job.status != JobStatus.CANCELLING:
            job.status = JobStatus.RUNNING
        job.started_at = job.started_at or int(time.time())

    job = store.update(job_id, mark)
    store.add_event(job_id, status_event(message, JobStatus.RUNNING, **({"worker": worker} if worker else {})))
    return job


def finish(
    store: JobStore[R], job_id: str, status: JobStatus, message: str, mutate: Callable[[R], None] | None = None
) -> None:
    """End the job with `status` (after `mutate`, if given) and record `message`."""

    def mark(job: R) -> None:
        if mutate is not None:
            mutate(job)
        job.status = status
        job.finished_at = int(time.time())

    store.update(job_id, mark)
    store.add_event(job_id, status_event(message, status))
    logger.info("job finished", extra={"status": status.value})


def fail(store: JobStore[Any], job_id: str, code: str, message: str, param: str | None) -> None:
    """End the job failed with a `JobError` and an error event."""

    def mark(job: BaseJob) -> None:
        job.status = JobStatus.FAILED
        job.finished_at = int(time.time())
        job.error = JobError(code=code, message=message, param=param)

    store.update(job_id, mark)
    store.add_event(job_id, status_event(message, JobStatus.FAILED, level="error", code=code))


class RunnerContext(Protocol):
    """What a leased runner needs from its context: the kind's store and this worker's lease identity."""

    @property
    def store(self) -> JobStore[Any]: ...

    @property
    def holder(self) -> str: ...

    @property
    def lease_ttl_s(self) -> int: ...


C = TypeVar("C", bound=RunnerContext)


class LeasedRunner(ABC, Generic[C]):
    """A worker-side runner of one kind of job: `run(job_id)` holds the lease around `_run`."""

    def __init__(self, ctx: C) -> None:
        self.ctx = ctx
        self.store: JobStore[Any] = ctx.store

    def run(self, job_id: str) -> None:
        """Run the job unless it is finished or another worker holds it; safe to call twice (redelivery)."""
        run_leased(self.store, job_id, holder=self.ctx.holder, lease_ttl_s=self.ctx.lease_ttl_s, body=self._run)

    @abstractmethod
    def _run(self, job: Any, lost: threading.Event) -> None:
        """The job's work; `lost` is set when another worker may own the job now."""
