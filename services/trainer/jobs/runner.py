"""Running one job on a worker: lease, fetch, train (resuming from the latest checkpoint), checkpoint, publish."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.trainer.core.preference_trainer import PreferenceReport, PreferenceTrainer
from services.trainer.core.safeguards import MemoryBudgetReached
from services.trainer.core.trainer import StepReport, Trainer
from services.trainer.jobs import spec
from services.trainer.jobs.alias_gate import GateModels, run_gate
from services.trainer.jobs.job_files import download_file
from services.trainer.jobs.kinds import FineTuningStore
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import CheckpointRecord, JobRecord
from shared.adapter_format import ADAPTER_FILES
from shared.aliases import PREFIX, AliasRecord
from shared.errors import DistrustError, FailedPrecondition
from shared.files import FileService
from shared.jobs import lifecycle
from shared.jobs.records import EventRecord, JobStatus
from shared.model_aliases import Aliases
from shared.model_registry import AdapterRecord, ModelRegistry
from shared.schemas.fine_tuning import CheckpointMetrics
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)

MemoryCheck = Callable[[JobRecord, Path], int]  # refuses a job that cannot fit, else returns the budget
Run = Trainer | PreferenceTrainer
Report = StepReport | PreferenceReport


@dataclass
class RunnerContext:
    """What a worker gives the runner: its stores and services, its cache and its lease identity."""

    store: FineTuningStore
    files: FileService
    registry: ModelRegistry
    sources: ModelSources
    objects: ObjectStore
    cache_dir: Path
    holder: str
    lease_ttl_s: int = 30
    memory_check: MemoryCheck | None = None


def fine_tuned_name(job: JobRecord, base: str) -> str:
    """The name the trained adapter is served under, as OpenAI forms it (`ft:base:suffix:id`)."""
    return f"ft:{base}:{job.suffix or 'distrust'}:{job.id.removeprefix('ftjob-')[:12]}"


def _checkpoint_metrics(report: Report) -> CheckpointMetrics:
    return CheckpointMetrics(step=report.step, train_loss=report.train_loss, val_loss=report.val_loss)


class JobRunner(lifecycle.LeasedRunner[RunnerContext]):
    """Runs one leased fine-tuning job to its end, resuming from its latest checkpoint."""

    ctx: RunnerContext

    def _run(self, queued: JobRecord, lost: threading.Event) -> None:
        workdir = self.ctx.cache_dir / "jobs" / queued.id
        if self._stays_paused(queued):
            return
        job: JobRecord | None = lifecycle.begin(
            self.store, queued.id, f"Fine-tuning job started on {self.ctx.holder}", workdir, worker=self.ctx.holder
        )
        if job is None:
            return
        self._train(job, workdir, lost)

    def run_rank(self, job_id: str, group: Any) -> None:
        """One rank of a data-parallel job, in a process of its own (its gang's supervisor holds the job's lease).

        Every rank trains; only rank 0 records metrics, checkpoints, the adapter and how the job ended.
        """
        job = self.store.get(job_id)
        if job is None:
            raise DistrustError(f"fine_tuning_job_id: no such job {job_id}", param="fine_tuning_job_id")
        workdir = self.ctx.cache_dir / "jobs" / f"{job.id}-rank-{group.rank()}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        self._train(job, workdir, threading.Event(), group=group)

    def _train(self, job: JobRecord, workdir: Path, lost: threading.Event, *, group: Any | None = None) -> None:
        """Train the job from its latest checkpoint to its end, a pause or a cancel (one rank of `group`, if any)."""
        leader = group is None or group.rank() == 0
        trainer = self._trainer(job, workdir, group=group, leader=leader)
        every = job.hyperparameters.checkpoint_every_steps
        store = self.ctx.store

        def should_stop() -> bool:
            return lost.is_set() or store.cancel_requested(job.id) or store.pause_requested(job.id)

        last: Report | None = None
        try:
            for report in trainer.run(should_stop=should_stop):
                last = report
                if not leader:
                    continue
                self._metrics(job.id, report)
                if report.step % every == 0 and report.step < report.total_steps:
                    self._checkpoint(trainer, job, _checkpoint_metrics(report), workdir)
        except MemoryBudgetReached:
            # the step completed and its state is good: keep it to resume with lower settings
            if leader:
                self._checkpoint(trainer, job, CheckpointMetrics(step=trainer.step), workdir)
            raise
        if not leader:
            shutil.rmtree(workdir, ignore_errors=True)
            return  # rank 0 records how the job ended
        if lost.is_set():
            return  # another worker owns the job now; it continues from the last checkpoint
        self._end(job, trainer, last, workdir)

    def _end(self, job: JobRecord, trainer: Run, last: Report | None, workdir: Path) -> None:
        """Publish the finished run, or keep a stopped one's last step as a checkpoint and record the stop."""
        if trainer.step < trainer.total_steps:
            if last is not None and last.step % job.hyperparameters.checkpoint_every_steps != 0:
                self._checkpoint(trainer, job, _checkpoint_metrics(last), workdir)
            self._stopped(job, trainer.step)
        else:
            self._publish(trainer, job, workdir)
        shutil.rmtree(workdir, ignore_errors=True)

    def _stays_paused(self, queued: JobRecord) -> bool:
        """A job paused while its queue message waited is not started (a cancel still goes through `begin`)."""
        store = self.ctx.store
        if not store.pause_requested(queued.id) or store.cancel_requested(queued.id):
            return False
        if queued.status != JobStatus.PAUSED:
            store.mark_paused(queued.id, "Paused before it started again")
        return True

    def _trainer(self, job: JobRecord, workdir: Path, *, group: Any | None = None, leader: bool = True) -> Run:
        """The job's trainer on its files and starting adapter, restored from its latest checkpoint if any."""
        sources = self.ctx.sources
        start = sources.start_adapter(job.model, job.owner)
        base = start.base_model if start is not None else job.model
        model_dir = sources.local_dir(base, self.ctx.cache_dir, job.owner)
        start_dir = self.ctx.registry.fetch_adapter(start, self.ctx.cache_dir) if start is not None else None
        train_path = self._download(job.owner, job.training_file, workdir / "train.jsonl")
        val_path = (
            self._download(job.owner, job.validation_file, workdir / "val.jsonl") if job.validation_file else None
        )
        budget = self.ctx.memory_check(job, model_dir) if self.ctx.memory_check else None
        settings = spec.train_settings(job, model_path=model_dir, train_path=train_path, val_path=val_path)
        settings = dataclasses.replace(settings, memory_budget_bytes=budget, adapter_path=start_dir)
        trainer: Run = PreferenceTrainer(settings, job.preference) if job.method == "dpo" else Trainer(settings, group)
        checkpoints = self.ctx.store.checkpoints(job.id)
        if checkpoints:
            self._restore(trainer, job, checkpoints[-1], workdir, announce=leader)
        elif isinstance(trainer, Trainer) and leader:
            self._event(
                job.id,
                EventRecord(
                    message="Distrust weights over the training set", type="weights", data=trainer.weight_summary()
                ),
            )
        if leader:
            self.store.update(job.id, lambda r: setattr(r, "total_steps", trainer.total_steps))
        return trainer

    def _stopped(self, job: JobRecord, step: int) -> None:
        """End a job stopped before its last step: cancelled, or paused until resumed (its checkpoint is written)."""
        if self.ctx.store.cancel_requested(job.id):
            self._finish(job.id, JobStatus.CANCELLED, f"Job cancelled at step {step}; its last checkpoint is kept")
        else:
            self.ctx.store.mark_paused(job.id, f"Job paused at step {step}; it resumes from this checkpoint")

    def _download(self, owner: str, file_id: str, target: Path) -> Path:
        return download_file(self.ctx.files, self.ctx.objects, owner, file_id, target)

    def _restore(
        self, trainer: Run, job: JobRecord, checkpoint: CheckpointRecord, workdir: Path, *, announce: bool = True
    ) -> None:
        target = workdir / f"restore-{checkpoint.step}"
        try:
            for name, sha in checkpoint.files.items():
                self.ctx.objects.download_file(
                    Bucket.CHECKPOINTS, f"{checkpoint.storage_prefix}/{name}", target / name, expected_sha256=sha
                )
            trainer.restore(target)
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            raise DistrustError(
                f"cannot resume from checkpoint {checkpoint.id} (step {checkpoint.step}): {message}; "
                f"the job is not restarted from step 0",
                code="resume_failed",
            ) from exc
        if announce:
            self._event(
                job.id,
                EventRecord(
                    message=f"Resumed from checkpoint at step {checkpoint.step}",
                    type="message",
                    data={"step": checkpoint.step, "checkpoint": checkpoint.id},
                ),
            )

    def _metrics(self, job_id: str, r: Report) -> None:
        data = dataclasses.asdict(r)
        text = r.describe()

        def progress(job: JobRecord) -> EventRecord | None:
            # A job resumed from a checkpoint re-runs steps it already reported: step and events stay monotonic.
            if r.step <= job.step:
                return None
            job.step = r.step
            job.trained_tokens += r.tokens
            return EventRecord(message=text, type="metrics", data=data)

        self.store.update_with_event(job_id, progress)

    def _checkpoint(self, trainer: Run, job: JobRecord, metrics: CheckpointMetrics, workdir: Path) -> None:
        local = workdir / f"checkpoint-{metrics.step}"
        shutil.rmtree(local, ignore_errors=True)
        trainer.save_checkpoint(local)
        prefix = f"{job.id}/step-{metrics.step:06d}"
        files = {
            p.name: self.ctx.objects.put_file(Bucket.CHECKPOINTS, f"{prefix}/{p.name}", p).sha256 or ""
            for p in sorted(local.iterdir())
            if p.is_file()
        }
        # Recorded only after every file is stored, so a resume never sees half a checkpoint.
        record = CheckpointRecord(
            job_id=job.id,
            step=metrics.step,
            storage_prefix=prefix,
            files=files,
            metrics=metrics,
        )
        self.ctx.store.add_checkpoint(record)
        self.ctx.registry.register_adapter(
            AdapterRecord(
                name=record.fine_tuned_model_checkpoint,
                job_id=job.id,
                owner=job.owner,
                base_model=self.ctx.sources.base_of(job.model, job.owner),
                created=record.created_at,
                files={name: sha for name, sha in files.items() if name in ADAPTER_FILES},
                bucket=Bucket.CHECKPOINTS,
                storage_prefix=prefix,
                checkpoint_step=metrics.step,
            )
        )
        self._event(
            job.id,
            EventRecord(
                message=f"Checkpoint saved at step {metrics.step}",
                type="checkpoint",
                data={
                    "step": metrics.step,
                    "checkpoint": record.id,
                    "fine_tuned_model_checkpoint": record.fine_tuned_model_checkpoint,
                },
            ),
        )
        shutil.rmtree(local, ignore_errors=True)

    def _publish(self, trainer: Run, job: JobRecord, workdir: Path) -> None:
        out = workdir / "adapter"
        trainer.save_adapter(out)
        files = {
            p.name: self.ctx.objects.put_file(Bucket.ADAPTERS, f"{job.id}/{p.name}", p).sha256 or ""
            for p in sorted(out.iterdir())
            if p.is_file()
        }
        base = self.ctx.sources.base_of(job.model, job.owner)
        name = fine_tuned_name(job, base)
        self.ctx.registry.register_adapter(
            AdapterRecord(
                name=name, job_id=job.id, owner=job.owner, base_model=base, created=int(time.time()), files=files
            )
        )
        self.store.update(job.id, lambda r: setattr(r, "fine_tuned_model", name))
        if job.alias is not None:
            self._move_alias(job, job.alias, name)
        self._finish(job.id, JobStatus.SUCCEEDED, f"The job has successfully completed: {name}")

    def _move_alias(self, job: JobRecord, alias: str, name: str) -> None:
        """Point the job's alias at its model, unless its gate says the model the alias serves now is better."""
        aliases = Aliases(self.ctx.registry)
        current = aliases.store.get(job.owner, alias)
        if job.alias_gate is not None and current is not None:
            models = GateModels(self.ctx.registry, self.ctx.sources, self.ctx.cache_dir)
            result = run_gate(models, job.owner, job.alias_gate, name, current.model, seed=job.seed)
            data = {**dataclasses.asdict(result), "passed": result.passed}
            level = "info" if result.passed else "warn"
            self._event(job.id, EventRecord(message=result.describe(current.id), type="gate", level=level, data=data))
            if not result.passed:
                return

        def moved_meanwhile(now: AliasRecord | None) -> str | None:
            unchanged = (now.model if now else None) == (current.model if current else None)
            return None if unchanged else f"{PREFIX}{alias} was moved while this job finished; it was left there"

        try:
            moved = aliases.point(job.owner, alias, name, reason="job", job_id=job.id, unless=moved_meanwhile)
        except FailedPrecondition as exc:
            self._event(job.id, EventRecord(message=exc.message, level="warn", data={"alias": PREFIX + alias}))
            return
        self._event(job.id, EventRecord(message=f"{moved.id} now points at {name}", data={"alias": moved.id}))

    def _finish(self, job_id: str, status: JobStatus, message: str) -> None:
        lifecycle.finish(self.store, job_id, status, message)

    def _event(self, job_id: str, event: EventRecord) -> None:
        self.store.add_event(job_id, event)
