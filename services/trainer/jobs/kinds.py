"""The trainer's kinds of job on the shared job system, and the fine-tuning store that also keeps checkpoints."""

from __future__ import annotations

import redis

from services.trainer.jobs.records import CheckpointRecord, EvalRecord, ExportRecord, ImportRecord, JobRecord
from shared.errors import FailedPrecondition
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobKind, JobStore, status_event
from shared.redis_store import redis_errors

PAUSABLE = frozenset({JobStatus.VALIDATING_FILES, JobStatus.QUEUED, JobStatus.RUNNING})

FINE_TUNING = JobKind("ftjob", JobRecord, "fine-tuning job", "fine_tuning_job_id", not_found_code="job_not_found")
EVALUATION = JobKind("eval", EvalRecord, "evaluation", "eval_id")
EXPORT = JobKind("export", ExportRecord, "export job", "export_id")
IMPORT = JobKind("import", ImportRecord, "model import", "import_id")


class FineTuningStore(JobStore[JobRecord]):
    """Fine-tuning jobs, with the checkpoints a requeued or resumed job continues from, and their pause flags."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(client, FINE_TUNING)

    def add_checkpoint(self, checkpoint: CheckpointRecord) -> None:
        with redis_errors("recording a checkpoint"):
            self.redis.rpush(f"{self.p}:{checkpoint.job_id}:checkpoints", checkpoint.model_dump_json())

    def checkpoints(self, job_id: str) -> list[CheckpointRecord]:
        with redis_errors("reading checkpoints"):
            raws = self.redis.lrange(f"{self.p}:{job_id}:checkpoints", 0, -1)
        return [CheckpointRecord.model_validate_json(r) for r in raws]

    def resume_note(self, job_id: str) -> tuple[str, int]:
        checkpoints = self.checkpoints(job_id)
        if not checkpoints:
            return "the start (no checkpoint was written yet)", 0
        step = checkpoints[-1].step
        return f"its checkpoint at step {step}", step

    def pause_owned(self, job_id: str, owner: str) -> JobRecord:
        """Ask the owner's queued or running job to pause; a running one stops at its next step with a checkpoint.

        A job no worker has taken yet is paused at once; a running one stays `running` until its worker stops.
        """
        job = self.get_owned(job_id, owner)
        if job.status not in PAUSABLE or self.cancel_requested(job_id):
            raise FailedPrecondition(
                f"The fine-tuning job {job_id} is {job.status.value}; only a queued or running job can be paused",
                param=self.kind.param,
                code="job_not_pausable",
            )
        with redis_errors("pausing a job"):
            self.redis.set(f"{self.p}:{job_id}:pause", "1")

        def mark(record: JobRecord) -> EventRecord | None:
            if record.status != JobStatus.RUNNING and self.lease_holder(job_id) is None:
                return self._paused(record, "Paused before a worker took it")
            return EventRecord(message="Pause requested; the job stops with a checkpoint after its current step")

        return self.update_with_event(job_id, mark)

    def mark_paused(self, job_id: str, message: str) -> JobRecord:
        """Record that the job's worker stopped it for a pause request."""
        return self.update_with_event(job_id, lambda record: self._paused(record, message))

    def _paused(self, record: JobRecord, message: str) -> EventRecord:
        record.status = JobStatus.PAUSED
        return status_event(message, JobStatus.PAUSED, step=record.step)

    def pause_requested(self, job_id: str) -> bool:
        with redis_errors("reading a pause request"):
            return bool(self.redis.exists(f"{self.p}:{job_id}:pause"))

    def resume_owned(self, job_id: str, owner: str) -> tuple[JobRecord, bool]:
        """Take back a pause: a paused job is queued again (True: it needs a worker); a pending request is dropped."""
        job = self.get_owned(job_id, owner)
        if job.status != JobStatus.PAUSED and not (job.status in PAUSABLE and self.pause_requested(job_id)):
            raise FailedPrecondition(
                f"The fine-tuning job {job_id} is {job.status.value}, not paused; only a paused job can be resumed",
                param=self.kind.param,
                code="job_not_paused",
            )
        with redis_errors("resuming a job"):
            self.redis.delete(f"{self.p}:{job_id}:pause")
        queued = False

        def mark(record: JobRecord) -> EventRecord:
            nonlocal queued
            queued = record.status == JobStatus.PAUSED
            if not queued:
                return EventRecord(message="Pause request withdrawn; the job goes on")
            record.status = JobStatus.QUEUED
            where, _step = self.resume_note(job_id)
            return status_event(f"Resumed; the job continues from {where}", JobStatus.QUEUED, step=record.step)

        return self.update_with_event(job_id, mark), queued

    # ------------------------------------------------------------------ data-parallel groups (gangs) of ranks
    def open_gang(self, job_id: str) -> int:
        """Count one more start of the job's group of ranks and make it the one ranks join; its number."""
        attempt = self.update(job_id, lambda r: setattr(r, "attempt", r.attempt + 1)).attempt
        with redis_errors("opening a group of ranks"):
            self.redis.set(f"{self.p}:{job_id}:gang", attempt, ex=7 * 24 * 3600)
        return attempt

    def current_gang(self, job_id: str) -> int | None:
        with redis_errors("reading a group of ranks"):
            value = self.redis.get(f"{self.p}:{job_id}:gang")
        return None if value is None else int(value)

    def claim_rank(self, job_id: str, attempt: int, rank: int, address: str) -> bool:
        """Take `rank` of the group at `address`; False when another worker already has it."""
        key = f"{self.p}:{job_id}:gang:{attempt}"
        with redis_errors("joining a group of ranks"):
            pipe = self.redis.pipeline()
            pipe.hsetnx(key, str(rank), address)
            pipe.expire(key, 7 * 24 * 3600)
            return bool(pipe.execute()[0])

    def gang_members(self, job_id: str, attempt: int) -> dict[int, str]:
        with redis_errors("reading a group of ranks"):
            members = self.redis.hgetall(f"{self.p}:{job_id}:gang:{attempt}")
        return {int(rank): str(address) for rank, address in members.items()}

    def beat_rank(self, job_id: str, attempt: int, rank: int, ttl_s: int) -> None:
        with redis_errors("beating for a rank"):
            self.redis.set(f"{self.p}:{job_id}:gang:{attempt}:alive:{rank}", "1", ex=ttl_s)

    def ranks_alive(self, job_id: str, attempt: int, ranks: int) -> list[bool]:
        with redis_errors("checking a group of ranks"):
            keys = [f"{self.p}:{job_id}:gang:{attempt}:alive:{r}" for r in range(ranks)]
            return [value is not None for value in self.redis.mget(keys)]

    def fail_gang(self, job_id: str, attempt: int, reason: str) -> None:
        """Tell every rank of the group to stop: one of them failed (the first reason is kept)."""
        with redis_errors("stopping a group of ranks"):
            self.redis.set(f"{self.p}:{job_id}:gang:{attempt}:failed", reason, nx=True, ex=7 * 24 * 3600)

    def gang_failure(self, job_id: str, attempt: int) -> str | None:
        with redis_errors("checking a group of ranks"):
            value = self.redis.get(f"{self.p}:{job_id}:gang:{attempt}:failed")
        return None if value is None else str(value)
