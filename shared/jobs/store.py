"""Job records and their event logs in Redis (durable with AOF): they survive every process.

One store class serves every kind of job; a `JobKind` names the key prefix, the record type and how a missing
job is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import redis

from shared.errors import FailedPrecondition, NotFound, invalid_field
from shared.jobs.records import TERMINAL, BaseJob, EventRecord, JobStatus
from shared.redis_store import KEY_PREFIX, redis_errors, text, texts

R = TypeVar("R", bound=BaseJob)

ACTIVE_JOBS = f"{KEY_PREFIX}jobs:active"  # every kind's queued and running jobs; `:<owner>` for one owner's


def active_jobs(client: redis.Redis, owner: str | None = None) -> int:
    """How many jobs (of every kind) are queued or running: the owner's, or with None the deployment's."""
    with redis_errors("counting active jobs"):
        return int(client.scard(ACTIVE_JOBS if owner is None else f"{ACTIVE_JOBS}:{owner}"))


@dataclass(frozen=True)
class JobKind(Generic[R]):
    """One kind of job: its id and key prefix, its record type and the words its errors use."""

    prefix: str  # the id prefix ("ftjob") and Redis key prefix
    record: type[R]
    label: str  # in messages: "fine-tuning job"
    param: str  # the request field that names a job of this kind
    not_found_code: str = ""  # empty: "<prefix>_not_found"


class JobStore(Generic[R]):
    """The records, events, cancel flags and leases of one kind of job."""

    def __init__(self, client: redis.Redis, kind: JobKind[R]) -> None:
        self.redis = client
        self.kind = kind
        self.p = f"{KEY_PREFIX}{kind.prefix}"

    def _missing(self, job_id: str, *, param: str | None = None) -> NotFound:
        prefix = f"{param}: no such" if param else "No such"
        return NotFound(
            f"{prefix} {self.kind.label}: {job_id}",
            param=param or self.kind.param,
            code=self.kind.not_found_code or f"{self.kind.prefix}_not_found",
        )

    def create(self, job: R) -> R:
        with redis_errors("creating a job"):
            order = self.redis.incr(f"{self.p}s:seq")
            pipe = self.redis.pipeline()
            pipe.set(f"{self.p}:{job.id}", job.model_dump_json())
            pipe.zadd(f"{self.p}s:{job.owner}", {job.id: order})
            pipe.sadd(f"{self.p}s:active", job.id)
            pipe.sadd(ACTIVE_JOBS, job.id)
            pipe.sadd(f"{ACTIVE_JOBS}:{job.owner}", job.id)
            pipe.execute()
        return job

    def get(self, job_id: str) -> R | None:
        with redis_errors("reading a job"):
            raw = self.redis.get(f"{self.p}:{job_id}")
        return self.kind.record.model_validate_json(raw) if raw else None

    def get_owned(self, job_id: str, owner: str) -> R:
        job = self.get(job_id) if job_id.startswith(f"{self.kind.prefix}-") else None
        if job is None or job.owner != owner:
            raise self._missing(job_id)
        return job

    def update(self, job_id: str, mutate: Callable[[R], None]) -> R:
        """Read-modify-write under WATCH, so concurrent writers (worker, cancel) never lose each other's change."""

        def no_event(job: R) -> None:
            mutate(job)

        return self.update_with_event(job_id, no_event)

    def update_with_event(self, job_id: str, mutate: Callable[[R], EventRecord | None]) -> R:
        """As `update`; the event `mutate` returns (if any) is recorded in the same transaction, or not at all."""
        key = f"{self.p}:{job_id}"
        with redis_errors("updating a job"), self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.watch unannotated
                    # Under WATCH the pipeline runs commands at once, so this is the value, not the pipeline.
                    raw = cast("str | None", pipe.get(key))
                    if raw is None:
                        raise self._missing(job_id)
                    job = self.kind.record.model_validate_json(raw)
                    event = mutate(job)
                    pipe.multi()
                    pipe.set(key, job.model_dump_json())
                    if event is not None:
                        pipe.rpush(f"{key}:events", event.model_dump_json(exclude={"sequence"}))
                    if job.status in TERMINAL:
                        pipe.srem(f"{self.p}s:active", job_id)
                        pipe.srem(ACTIVE_JOBS, job_id)
                        pipe.srem(f"{ACTIVE_JOBS}:{job.owner}", job_id)
                    pipe.execute()
                    return job
                except redis.WatchError:
                    continue

    def list_owned(self, owner: str, *, after: str | None, limit: int) -> tuple[list[R], bool]:
        """A page of the owner's jobs, newest first, after the job `after` (OpenAI's cursor)."""
        if not 1 <= limit <= 100:
            raise invalid_field("limit", limit, "an integer in [1, 100]")
        with redis_errors("listing jobs"):
            ids = texts(self.redis.zrevrange(f"{self.p}s:{owner}", 0, -1))
        if after:
            if after not in ids:
                raise self._missing(after, param="after")
            ids = ids[ids.index(after) + 1 :]
        page = ids[: limit + 1]
        with redis_errors("listing jobs"):
            raws = self.redis.mget([f"{self.p}:{i}" for i in page]) if page else []
        jobs = [self.kind.record.model_validate_json(r) for r in raws if r]
        return jobs[:limit], len(jobs) > limit

    def active_ids(self) -> list[str]:
        with redis_errors("listing active jobs"):
            return sorted(texts(self.redis.smembers(f"{self.p}s:active")))

    def add_event(self, job_id: str, event: EventRecord) -> EventRecord:
        with redis_errors("recording a job event"):
            event.sequence = self.redis.rpush(f"{self.p}:{job_id}:events", event.model_dump_json(exclude={"sequence"}))
        return event

    def events(self, job_id: str, *, after_sequence: int = 0, limit: int | None = None) -> list[EventRecord]:
        end = -1 if limit is None else after_sequence + limit - 1
        with redis_errors("reading job events"):
            raws = self.redis.lrange(f"{self.p}:{job_id}:events", after_sequence, end)
        out = []
        for offset, raw in enumerate(raws):
            event = EventRecord.model_validate_json(raw)
            event.sequence = after_sequence + offset + 1
            out.append(event)
        return out

    def follow_events(
        self, job_id: str, *, after_sequence: int, follow: bool, poll_s: float = 0.3
    ) -> Iterator[EventRecord]:
        """Stored events after `after_sequence`; with `follow`, keep sending new ones until the job ends."""
        sequence = after_sequence
        while True:
            batch = self.events(job_id, after_sequence=sequence)
            for event in batch:
                sequence = event.sequence
                yield event
            if not follow:
                return
            job = self.get(job_id)
            if job is None or (job.status in TERMINAL and not self.events(job_id, after_sequence=sequence)):
                return
            time.sleep(poll_s)

    def resume_note(self, job_id: str) -> tuple[str, int]:  # noqa: ARG002
        """Where a requeued job starts again, in words, and its step; kinds that checkpoint override this."""
        return "the start", 0

    def request_cancel(self, job_id: str) -> None:
        with redis_errors("cancelling a job"):
            self.redis.set(f"{self.p}:{job_id}:cancel", "1")

    def cancel_owned(self, job_id: str, owner: str) -> R:
        """Ask the owner's unfinished job to stop (the worker sees it between steps); the job, now cancelling."""
        job = self.get_owned(job_id, owner)
        if job.status in TERMINAL:
            raise FailedPrecondition(
                f"The {self.kind.label} {job_id} has already {job.status.value}; it cannot be cancelled",
                param=self.kind.param,
                code="job_finished",
            )
        self.request_cancel(job_id)

        def mark(record: BaseJob) -> EventRecord | None:
            if record.status == JobStatus.PAUSED:  # no worker holds a paused job: it ends here
                record.status = JobStatus.CANCELLED
                record.finished_at = int(time.time())
                return status_event("Cancelled while paused; its last checkpoint is kept", JobStatus.CANCELLED)
            if record.status in TERMINAL:
                return None
            record.status = JobStatus.CANCELLING
            return status_event("Cancellation requested", JobStatus.CANCELLING)

        return self.update_with_event(job_id, mark)

    def cancel_requested(self, job_id: str) -> bool:
        with redis_errors("reading a cancel request"):
            return bool(self.redis.exists(f"{self.p}:{job_id}:cancel"))

    def acquire_lease(self, job_id: str, holder: str, ttl_s: int) -> bool:
        """Only one worker runs a job: the lease expires when its holder dies (heartbeats stop)."""
        with redis_errors("taking a job lease"):
            return bool(self.redis.set(f"{self.p}:{job_id}:lease", holder, nx=True, ex=ttl_s))

    def renew_lease(self, job_id: str, holder: str, ttl_s: int) -> bool:
        key = f"{self.p}:{job_id}:lease"
        with redis_errors("renewing a job lease"):
            if self.redis.get(key) != holder:
                return False
            return bool(self.redis.expire(key, ttl_s))

    def release_lease(self, job_id: str, holder: str) -> None:
        key = f"{self.p}:{job_id}:lease"
        with redis_errors("releasing a job lease"):
            if self.redis.get(key) == holder:
                self.redis.delete(key)

    def count_outage(self, job_id: str) -> int:
        """Count one more time the job stopped because a backend was unavailable; how many so far."""
        key = f"{self.p}:{job_id}:outages"
        with redis_errors("counting a job's outages"):
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 7 * 24 * 3600)
            return int(pipe.execute()[0])

    def lease_holder(self, job_id: str) -> str | None:
        with redis_errors("reading a job lease"):
            holder = self.redis.get(f"{self.p}:{job_id}:lease")
        return None if holder is None else text(holder)


def status_event(message: str, status: JobStatus, *, level: str = "info", **data: object) -> EventRecord:
    """An event that records a change of status."""
    return EventRecord(message=message, type="status", status=status, level=level, data=dict(data))
