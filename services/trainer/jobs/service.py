"""Job use cases for the trainer service: create (validated, then queued), read, list, cancel, events."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterator

from services.trainer.jobs import spec
from services.trainer.jobs.job_files import check_training_file
from services.trainer.jobs.kinds import FineTuningStore
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import CheckpointRecord, JobRecord
from services.trainer.system.placement import queue_for
from shared.aliases import alias_name, is_alias
from shared.errors import FailedPrecondition, invalid_field
from shared.files import FileService
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import status_event
from shared.model_registry import AdapterRecord
from shared.schemas.fine_tuning import DistrustSpec, LoraSpec

logger = logging.getLogger(__name__)

SUFFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
MemoryCheck = Callable[[JobRecord], int | None]  # refuses a job no worker can hold, else its estimate (or None)


class JobService:
    """The fine-tuning use cases; every method takes the caller's owner id and sees only the owner's jobs."""

    def __init__(
        self,
        store: FineTuningStore,
        files: FileService,
        sources: ModelSources,
        enqueue: Callable[[str], None],
        memory_check: MemoryCheck | None = None,
        capacity: Callable[[str], int] | None = None,
    ) -> None:
        self.store = store
        self.files = files
        self.sources = sources
        self.enqueue = enqueue
        self.memory_check = memory_check
        self.capacity = capacity  # how many live workers consume a queue (a distributed job needs `hosts` of them)

    def create(self, job: JobRecord) -> JobRecord:
        """Validate everything a job needs, refuse what cannot run, then queue it."""
        if job.suffix is not None and (len(job.suffix) > 64 or set(job.suffix) - SUFFIX_CHARS):
            raise invalid_field("suffix", job.suffix, "at most 64 letters, digits, '-' or '_'")
        spec.validate_request(job)
        if job.alias is not None:
            job.alias = alias_name(job.alias)
        elif job.alias_gate is not None:
            raise invalid_field("alias_gate", job.alias_gate.model_dump(), "nothing without an alias to move")
        if is_alias(job.model):  # pinned now: a move before the job runs does not change what it continues
            job.model = self.sources.registry.aliases.require(job.owner, alias_name(job.model, "model"), "model").model
        adapter = self.sources.start_adapter(job.model, job.owner)
        if adapter is None:
            self.sources.classify(job.model, job.owner)
        else:
            job.lora = self._continued_lora(job, adapter)
        if job.method == "dpo":
            if job.distrust not in (DistrustSpec(), DistrustSpec(mode="none")):
                raise invalid_field("distrust", job.distrust.model_dump(), 'nothing for method.type "dpo"')
            job.distrust = DistrustSpec(mode="none")  # pairs carry their provenance as a margin instead
        self._check_file(job, "training_file", job.training_file)
        if job.validation_file:
            self._check_file(job, "validation_file", job.validation_file)
        job.memory_estimate_bytes = self.memory_check(job) if self.memory_check else None
        job.queue = queue_for(job.memory_estimate_bytes)
        if job.distributed is not None:
            self._check_gang(job, job.distributed.hosts, job.queue)
        job.status = JobStatus.QUEUED
        self.store.create(job)
        self.store.add_event(job.id, status_event(f"Created fine-tuning job {job.id}", JobStatus.QUEUED))
        self.enqueue(job.id)
        logger.info("job queued", extra={"job_id": job.id, "model": job.model})
        return job

    def _check_gang(self, job: JobRecord, hosts: int, queue: str) -> None:
        """A data-parallel job is supervised, and enough live workers can hold it to start all its ranks."""
        if job.method != "supervised":
            raise invalid_field("distributed", {"hosts": hosts}, 'nothing for method.type "dpo" (supervised only)')
        live = self.capacity(queue) if self.capacity is not None else hosts
        if live < hosts:
            raise FailedPrecondition(
                f"distributed.hosts: {hosts} workers must train this job together, but {live} live worker(s) "
                f"can hold it (queue {queue}); start more workers or lower distributed.hosts",
                param="distributed.hosts",
                code="not_enough_workers",
            )

    def _continued_lora(self, job: JobRecord, adapter: AdapterRecord) -> LoraSpec:
        """A continued adapter keeps its LoRA layers: the job's `lora` is theirs, and may only repeat it."""
        theirs = self.sources.registry.adapter_config(adapter).lora_spec()
        if job.lora not in (LoraSpec(), theirs):
            raise invalid_field(
                "lora", job.lora.model_dump(), f"nothing, or the LoRA of {job.model} ({theirs.model_dump()})"
            )
        return theirs

    def _check_file(self, job: JobRecord, field: str, file_id: str) -> None:
        require_scores = job.distrust.needs_scores
        preference = job.method == "dpo"
        check_training_file(self.files, field, file_id, job.owner, require_scores=require_scores, preference=preference)

    def get(self, owner: str, job_id: str) -> JobRecord:
        return self.store.get_owned(job_id, owner)

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[builtins.list[JobRecord], bool]:
        return self.store.list_owned(owner, after=after, limit=limit)

    def cancel(self, owner: str, job_id: str) -> JobRecord:
        return self.store.cancel_owned(job_id, owner)

    def pause(self, owner: str, job_id: str) -> JobRecord:
        return self.store.pause_owned(job_id, owner)

    def resume(self, owner: str, job_id: str) -> JobRecord:
        """Queue a paused job again (it continues from its last checkpoint), or withdraw a pending pause."""
        job, queued = self.store.resume_owned(job_id, owner)
        if queued:
            self.enqueue(job_id)
        return job

    def events(
        self, owner: str, job_id: str, *, after_sequence: int, follow: bool, poll_s: float = 0.3
    ) -> Iterator[EventRecord]:
        self.store.get_owned(job_id, owner)
        return self.store.follow_events(job_id, after_sequence=after_sequence, follow=follow, poll_s=poll_s)

    def checkpoints(
        self, owner: str, job_id: str, *, after: str | None, limit: int
    ) -> tuple[builtins.list[CheckpointRecord], bool]:
        """A page of a job's checkpoints, newest first, after the checkpoint `after`; and whether more follow."""
        self.store.get_owned(job_id, owner)
        newest_first = sorted(self.store.checkpoints(job_id), key=lambda c: -c.step)
        if after is not None:
            ids = [c.id for c in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        return newest_first[:limit], len(newest_first) > limit
