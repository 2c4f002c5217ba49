"""The trainer's kinds of job on the shared job system, and the fine-tuning store that also keeps checkpoints."""

from __future__ import annotations

import redis

from services.trainer.jobs.records import CheckpointRecord, EvalRecord, ExportRecord, ImportRecord, JobRecord
from shared.jobs.store import JobKind, JobStore
from shared.redis_store import redis_errors

FINE_TUNING = JobKind("ftjob", JobRecord, "fine-tuning job", "fine_tuning_job_id", not_found_code="job_not_found")
EVALUATION = JobKind("eval", EvalRecord, "evaluation", "eval_id")
EXPORT = JobKind("export", ExportRecord, "export job", "export_id")
IMPORT = JobKind("import", ImportRecord, "model import", "import_id")


class FineTuningStore(JobStore[JobRecord]):
    """Fine-tuning jobs, with the checkpoints a requeued job resumes from."""

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
