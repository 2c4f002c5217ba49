"""Job records, their event logs and checkpoints in Redis (durable with AOF): they survive every process."""

from __future__ import annotations

from collections.abc import Callable

import redis

from services.trainer.jobs.records import TERMINAL, CheckpointRecord, EventRecord, JobRecord, JobStatus
from shared.errors import NotFound
from shared.redis_store import KEY_PREFIX, redis_errors

P = f"{KEY_PREFIX}ftjob"


class JobStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def create(self, job: JobRecord) -> JobRecord:
        with redis_errors("creating a job"):
            order = self.redis.incr(f"{P}s:seq")
            pipe = self.redis.pipeline()
            pipe.set(f"{P}:{job.id}", job.model_dump_json())
            pipe.zadd(f"{P}s:{job.owner}", {job.id: order})
            pipe.sadd(f"{P}s:active", job.id)
            pipe.execute()
        return job

    def get(self, job_id: str) -> JobRecord | None:
        with redis_errors("reading a job"):
            raw = self.redis.get(f"{P}:{job_id}")
        return JobRecord.model_validate_json(raw) if raw else None

    def get_owned(self, job_id: str, owner: str) -> JobRecord:
        job = self.get(job_id) if job_id.startswith("ftjob-") else None
        if job is None or job.owner != owner:
            raise NotFound(f"No such fine-tuning job: {job_id}", param="fine_tuning_job_id", code="job_not_found")
        return job

    def update(self, job_id: str, mutate: Callable[[JobRecord], None]) -> JobRecord:
        """Read-modify-write under WATCH, so concurrent writers (worker, cancel) never lose each other's change."""
        key = f"{P}:{job_id}"
        with redis_errors("updating a job"), self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        raise NotFound(f"No such fine-tuning job: {job_id}", param="fine_tuning_job_id")
                    job = JobRecord.model_validate_json(raw)
                    mutate(job)
                    pipe.multi()
                    pipe.set(key, job.model_dump_json())
                    if job.status in TERMINAL:
                        pipe.srem(f"{P}s:active", job_id)
                    pipe.execute()
                    return job
                except redis.WatchError:
                    continue

    def list_owned(self, owner: str, *, after: str | None, limit: int) -> tuple[list[JobRecord], bool]:
        with redis_errors("listing jobs"):
            ids = list(self.redis.zrevrange(f"{P}s:{owner}", 0, -1))
        if after:
            if after not in ids:
                raise NotFound(f"after: no such fine-tuning job: {after}", param="after", code="job_not_found")
            ids = ids[ids.index(after) + 1:]
        page = ids[:limit + 1]
        with redis_errors("listing jobs"):
            raws = self.redis.mget([f"{P}:{i}" for i in page]) if page else []
        jobs = [JobRecord.model_validate_json(r) for r in raws if r]
        return jobs[:limit], len(jobs) > limit

    def active_ids(self) -> list[str]:
        with redis_errors("listing active jobs"):
            return sorted(self.redis.smembers(f"{P}s:active"))

    def add_event(self, job_id: str, event: EventRecord) -> EventRecord:
        with redis_errors("recording a job event"):
            event.sequence = self.redis.rpush(f"{P}:{job_id}:events", event.model_dump_json(exclude={"sequence"}))
        return event

    def events(self, job_id: str, *, after_sequence: int = 0, limit: int | None = None) -> list[EventRecord]:
        end = -1 if limit is None else after_sequence + limit - 1
        with redis_errors("reading job events"):
            raws = self.redis.lrange(f"{P}:{job_id}:events", after_sequence, end)
        out = []
        for offset, raw in enumerate(raws):
            event = EventRecord.model_validate_json(raw)
            event.sequence = after_sequence + offset + 1
            out.append(event)
        return out

    def add_checkpoint(self, checkpoint: CheckpointRecord) -> None:
        with redis_errors("recording a checkpoint"):
            self.redis.rpush(f"{P}:{checkpoint.job_id}:checkpoints", checkpoint.model_dump_json())

    def checkpoints(self, job_id: str) -> list[CheckpointRecord]:
        with redis_errors("reading checkpoints"):
            raws = self.redis.lrange(f"{P}:{job_id}:checkpoints", 0, -1)
        return [CheckpointRecord.model_validate_json(r) for r in raws]

    def request_cancel(self, job_id: str) -> None:
        with redis_errors("cancelling a job"):
            self.redis.set(f"{P}:{job_id}:cancel", "1")

    def cancel_requested(self, job_id: str) -> bool:
        with redis_errors("reading a cancel request"):
            return bool(self.redis.exists(f"{P}:{job_id}:cancel"))

    def acquire_lease(self, job_id: str, holder: str, ttl_s: int) -> bool:
        """Only one worker runs a job: the lease expires when its holder dies (heartbeats stop)."""
        with redis_errors("taking a job lease"):
            return bool(self.redis.set(f"{P}:{job_id}:lease", holder, nx=True, ex=ttl_s))

    def renew_lease(self, job_id: str, holder: str, ttl_s: int) -> bool:
        key = f"{P}:{job_id}:lease"
        with redis_errors("renewing a job lease"):
            if self.redis.get(key) != holder:
                return False
            return bool(self.redis.expire(key, ttl_s))

    def release_lease(self, job_id: str, holder: str) -> None:
        key = f"{P}:{job_id}:lease"
        with redis_errors("releasing a job lease"):
            if self.redis.get(key) == holder:
                self.redis.delete(key)

    def lease_holder(self, job_id: str) -> str | None:
        with redis_errors("reading a job lease"):
            return self.redis.get(f"{P}:{job_id}:lease")


def status_event(message: str, status: JobStatus, *, level: str = "info", **data: object) -> EventRecord:
    return EventRecord(message=message, type="status", status=status, level=level, data=dict(data))
