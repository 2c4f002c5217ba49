"""Evaluation use cases for the trainer service: create (models, tasks and files checked, then queued), read, cancel.

A task in a request and in the record is an `EvalTask` (`shared.schemas.evaluation`) whose `file` is a file id;
the record's tasks all have their name (unique in the eval). The worker swaps file ids for local paths and hands
the tasks to `services.trainer.evals`.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.trainer.evals import parse_tasks
from services.trainer.jobs.job_files import check_training_file, download_file, owned_file
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import EvalRecord, EvalRunProgress
from shared.errors import FailedPrecondition, invalid_field
from shared.files import FileService, Purpose
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore, status_event
from shared.model_registry import ModelRegistry, model_not_found
from shared.schemas.evaluation import AnyTask
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)

MAX_MODELS = 8
MAX_TASKS = 16


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate: the models, the tasks, and the run's seed (unset: a new one)."""

    owner: str
    models: list[str]
    tasks: list[AnyTask]
    include_base: bool = True
    seed: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class EvalModel:
    """A model to evaluate: its base and, for a fine-tuned model, the adapter applied on it."""

    name: str
    base: str
    adapter: str | None  # the fine-tuned model name when `name` is an adapter


def resolve_model(registry: ModelRegistry, sources: ModelSources, owner: str, name: str, field: str) -> EvalModel:
    """A base model the owner may use, or one of the owner's adapters; NotFound naming `field` otherwise."""
    ref = registry.resolve(name, owner)
    if ref is not None:
        return EvalModel(name, ref.base_name, None if ref.adapter is None else name)
    if name.startswith("/"):
        sources.classify(name, owner)  # a local folder, when this deployment allows them
        return EvalModel(name, name, None)
    raise model_not_found(name, field)


class EvalService:
    """Evaluations of the owner's models: created checked and queued, read, listed, cancelled, followed."""

    def __init__(
        self,
        store: JobStore[EvalRecord],
        files: FileService,
        objects: ObjectStore,
        registry: ModelRegistry,
        sources: ModelSources,
        enqueue: Callable[[str], None],
    ) -> None:
        self.store = store
        self.files = files
        self.objects = objects
        self.registry = registry
        self.sources = sources
        self.enqueue = enqueue

    def create(self, request: EvalRequest) -> EvalRecord:
        if not 1 <= len(request.models) <= MAX_MODELS:
            raise invalid_field("models", request.models, f"a list of 1 to {MAX_MODELS} model names")
        models: list[str] = []
        for i, name in enumerate(request.models):
            model = resolve_model(self.registry, self.sources, request.owner, name, f"models[{i}]")
            if request.include_base and model.adapter and model.base not in models:
                models.append(model.base)
            if name not in models:
                models.append(name)
        if not 1 <= len(request.tasks) <= MAX_TASKS:
            raise invalid_field("tasks", f"{len(request.tasks)} tasks", f"a list of 1 to {MAX_TASKS} tasks")
        seed = request.seed if request.seed is not None else int(time.time()) % 2**31
        tasks = self._check_tasks(request.owner, request.tasks, seed)
        record = EvalRecord(
            owner=request.owner,
            name=request.name,
            models=models,
            tasks=tasks,
            seed=seed,
            progress=EvalRunProgress(total=len(models) * len(tasks)),
        )
        self.store.create(record)
        self.store.add_event(record.id, status_event(f"Created evaluation {record.id}", JobStatus.QUEUED))
        self.enqueue(record.id)
        logger.info("evaluation queued", extra={"job_id": record.id, "models": models})
        return record

    def _check_tasks(self, owner: str, tasks: list[AnyTask], seed: int) -> list[AnyTask]:
        """Validate every task with its data before queueing (a bad line is reported now, not by a worker).

        Returns the tasks as stored, each with its name.
        """
        with tempfile.TemporaryDirectory(prefix="eval-check-") as tmp:
            local = localize_tasks(tasks, lambda i, file_id: self._local_file(owner, tasks, i, file_id, Path(tmp)))
            parsed = parse_tasks(local, seed=seed)
        return [task.model_copy(update={"name": checked.name}) for task, checked in zip(tasks, parsed, strict=True)]

    def _local_file(self, owner: str, tasks: list[AnyTask], i: int, file_id: str, tmp: Path) -> Path:
        field = f"tasks[{i}].file"
        if tasks[i].type == "perplexity":
            check_training_file(self.files, field, file_id, owner, require_scores=True)
        else:
            owned_file(self.files, field, file_id, owner, Purpose.EVALS)
        return download_file(self.files, self.objects, owner, file_id, tmp / f"{i}-{file_id}.jsonl")

    def get(self, owner: str, eval_id: str) -> EvalRecord:
        return self.store.get_owned(eval_id, owner)

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[list[EvalRecord], bool]:
        return self.store.list_owned(owner, after=after, limit=limit)

    def cancel(self, owner: str, eval_id: str) -> EvalRecord:
        return self.store.cancel_owned(eval_id, owner)

    def events(self, owner: str, eval_id: str, *, after_sequence: int, follow: bool) -> Iterator[EventRecord]:
        self.store.get_owned(eval_id, owner)
        return self.store.follow_events(eval_id, after_sequence=after_sequence, follow=follow)

    def results(self, owner: str, eval_id: str) -> dict[str, Any]:  # open: the full evaluation report
        record = self.store.get_owned(eval_id, owner)
        if record.status != JobStatus.SUCCEEDED or not record.results_key:
            raise FailedPrecondition(
                f"Evaluation {eval_id} has no results yet (status {record.status.value})",
                param="eval_id",
                code="results_not_ready",
            )
        results: dict[str, Any] = json.loads(self.objects.get_bytes(Bucket.RESULTS, record.results_key))
        return results


def localize_tasks(tasks: list[AnyTask], fetch: Callable[[int, str], Path]) -> list[AnyTask]:
    """The tasks, each `file` id replaced by a local path (`fetch(index, file_id)`), as `parse_tasks` reads them."""
    return [
        task.model_copy(update={"file": str(fetch(i, task.file))}) if task.file else task
        for i, task in enumerate(tasks)
    ]
