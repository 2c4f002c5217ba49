"""Running one evaluation on a worker: fetch files and models, run every task on every model, store the report."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm

from services.retrieval.context import Citation, context_text
from services.trainer.evals import compare, parse_tasks, run_tasks
from services.trainer.evals.comparison import json_safe
from services.trainer.evals.retrieval_quality import measure_retrieval
from services.trainer.evals.tasks import AnyTask, Grounding, Groundings, RetrievalQualityTask, retrieval_prompts
from services.trainer.jobs.evaluations import EvalModel, localize_tasks, resolve_model
from services.trainer.jobs.job_files import download_file
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import EvalRecord, EvalRunProgress
from shared.errors import FailedPrecondition, InvalidArgument
from shared.files import FileService
from shared.jobs import lifecycle
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.schemas.vector_stores import RetrievalOptions
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)


@dataclass
class EvalContext:
    """What an evaluation worker works with: stores, files, models, a cache folder, and its lease."""

    store: JobStore[EvalRecord]
    files: FileService
    registry: ModelRegistry
    sources: ModelSources
    objects: ObjectStore
    cache_dir: Path
    holder: str
    lease_ttl_s: int = 30
    # Searches the owner's vector stores for a task's `retrieval`; None: such tasks fail, naming the field.
    retriever: Callable[[str, RetrievalOptions, str], list[Citation]] | None = None


@dataclass
class Searched:
    """What an evaluation's tasks found in vector stores, by task name."""

    groundings: dict[str, Groundings] = field(default_factory=dict)
    measured: dict[str, dict[str, Any]] = field(default_factory=dict)  # open: retrieval-quality reports


def load_model(
    registry: ModelRegistry, sources: ModelSources, cache_dir: Path, ref: EvalModel, owner: str
) -> tuple[Any, Any]:
    """The model (with its adapter, if any) and tokenizer, in eval mode, from the local cache."""
    base_dir = sources.local_dir(ref.base, cache_dir, owner)
    adapter_dir = None
    if ref.adapter:
        record = registry.get_adapter(ref.adapter, owner=owner)
        adapter_dir = registry.fetch_adapter(record, cache_dir)
    loaded = mlx_lm.load(str(base_dir), adapter_path=str(adapter_dir) if adapter_dir else None)
    model, tokenizer = loaded[0], loaded[1]
    model.eval()
    return model, tokenizer


class Stopped(Exception):
    """The evaluation was cancelled, or its lease lost, between two tasks."""


class EvalRunner(lifecycle.LeasedRunner[EvalContext]):
    """Runs one evaluation under its lease: every task on every model, then the report to the object store."""

    ctx: EvalContext

    def _run(self, record: EvalRecord, lost: threading.Event) -> None:
        workdir = self.ctx.cache_dir / "evals" / record.id
        started: EvalRecord | None = lifecycle.begin(self.store, record.id, "Evaluation started", workdir)
        if started is None:
            return
        record = started
        try:
            local = localize_tasks(
                record.tasks,
                lambda i, file_id: download_file(
                    self.ctx.files, self.ctx.objects, record.owner, file_id, workdir / f"{i}-{file_id}.jsonl"
                ),
            )
            tasks = parse_tasks(local, seed=record.seed)
            searched = self._search(record, tasks)
            results = self._evaluate(record, tasks, lost, searched)
        except Stopped:
            if not lost.is_set():
                lifecycle.finish(self.store, record.id, JobStatus.CANCELLED, "Evaluation cancelled")
            return
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        comparison = compare(results)
        report = {"id": record.id, "seed": record.seed, "models": results, "comparison": comparison.model_dump()}
        key = f"evals/{record.id}/results.json"
        self.ctx.objects.put_bytes(Bucket.RESULTS, key, json.dumps(report).encode(), content_type="application/json")

        def done(r: EvalRecord) -> None:
            r.summary = comparison
            r.results_key = key

        lifecycle.finish(self.store, record.id, JobStatus.SUCCEEDED, "Evaluation finished", mutate=done)

    def _search(self, record: EvalRecord, tasks: list[AnyTask]) -> Searched:
        """What the tasks need from vector stores, found once for every model.

        That is each retrieval task's prompts with their chunks, and each retrieval-quality task's report.
        """
        searched = Searched()
        for i, task in enumerate(tasks):
            if isinstance(task, RetrievalQualityTask):
                started = time.perf_counter()

                def hits(query: str, at: int = i, options: RetrievalOptions = task.retrieval) -> list[tuple[str, str]]:
                    return [(c.file_id, c.filename) for c in self._retrieve(record, at, options, query)]

                report = measure_retrieval(task.queries, hits)
                searched.measured[task.name] = json_safe(
                    {
                        "type": task.type,
                        **report,
                        "options": task.options(),
                        "seconds": round(time.perf_counter() - started, 3),
                    }
                )
                continue
            wanted = retrieval_prompts(task)
            if wanted is None:
                continue
            options, prompts = wanted
            groundings: dict[str, Grounding] = {}
            for prompt in prompts:
                citations = self._retrieve(record, i, options, options.query or prompt)
                if citations:
                    labels = tuple(f"{c.filename}#{c.chunk_index}" for c in citations)
                    groundings[prompt] = Grounding(context_text(citations), labels)
            searched.groundings[task.name] = groundings
        return searched

    def _retrieve(self, record: EvalRecord, i: int, options: RetrievalOptions, query: str) -> list[Citation]:
        """The retriever's chunks for `query`; errors name the task (`tasks[i].retrieval…`)."""
        if self.ctx.retriever is None:
            raise FailedPrecondition(
                f"tasks[{i}].retrieval: this worker cannot search vector stores", param=f"tasks[{i}].retrieval"
            )
        try:
            return self.ctx.retriever(record.owner, options, query)
        except InvalidArgument as exc:
            raise InvalidArgument(f"tasks[{i}].{exc.message}", param=f"tasks[{i}].{exc.param}") from None

    def _evaluate(
        self, record: EvalRecord, tasks: list[AnyTask], lost: threading.Event, searched: Searched
    ) -> dict[str, Any]:
        total = len(record.models) * len(tasks)
        results: dict[str, Any] = {}  # open: {model: {task: report}}, the full evaluation report
        for m, name in enumerate(record.models):
            model_ref = resolve_model(self.ctx.registry, self.ctx.sources, record.owner, name, "models")
            model, tokenizer = self._load(model_ref, record.owner)
            results[name] = {}
            for t, task in enumerate(tasks):
                if lost.is_set() or self.store.cancel_requested(record.id):
                    raise Stopped
                done = m * len(tasks) + t
                self._progress(record.id, done, total, name, task.name, 0, 0)

                def progress(task_name: str, i: int, n: int, model_name: str = name, base: int = done) -> None:
                    self._progress(record.id, base, total, model_name, task_name, i, n, event=False)

                if task.name in searched.measured:
                    results[name][task.name] = searched.measured[task.name]
                    continue
                groundings = searched.groundings
                results[name].update(run_tasks(model, tokenizer, [task], progress=progress, groundings=groundings))
            del model
            mx.clear_cache()
        if lost.is_set() or self.store.cancel_requested(record.id):  # a cancel during the last task still counts
            raise Stopped
        self._progress(record.id, total, total, None, None, 0, 0)
        return results

    def _load(self, ref: EvalModel, owner: str) -> tuple[Any, Any]:
        return load_model(self.ctx.registry, self.ctx.sources, self.ctx.cache_dir, ref, owner)

    def _progress(
        self,
        eval_id: str,
        done: int,
        total: int,
        model: str | None,
        task: str | None,
        item: int,
        items: int,
        *,
        event: bool = True,
    ) -> None:
        progress = EvalRunProgress(done=done, total=total, model=model, task=task, item=item, items=items)
        self.store.update(eval_id, lambda r: setattr(r, "progress", progress))
        if event:
            text = f"Evaluating {model}: {task} ({done + 1}/{total})" if model else f"Evaluated {total}/{total}"
            self.store.add_event(eval_id, EventRecord(message=text, type="progress", data=progress.model_dump()))
