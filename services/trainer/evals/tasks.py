"""Evaluation tasks, checked and with their data loaded (see `parsing`), and running them on one loaded model.

A task (a `shared.schemas.evaluation` task, or a dict of the same keys) has a `type` (perplexity | source_preference | suite | truthfulqa), an optional unique `name`
(default: the type, numbered when a type repeats), an optional `seed`, and the options of its type, with files
already local paths:

    perplexity         file (required: training records with auth_weight), max_seq_length, batch_size, limit,
                       completion_only
    source_preference  file (default: the built-in set), method ("letter" | "option", default "letter"), limit
    suite              suite (a built-in name) or file, max_tokens, limit, system
    truthfulqa         file (default: the bundled sample), method (default "option"), limit

`parsing.parse_tasks` loads and checks every data file, so a bad line is reported when the evaluation is
submitted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypedDict

from mlx import nn

from services.trainer.evals.choice import MultipleChoiceItem
from services.trainer.evals.comparison import json_safe
from services.trainer.evals.generation import generate_reply, sample_replies
from services.trainer.evals.perplexity import band_perplexity
from services.trainer.evals.preference import run_source_preference
from services.trainer.evals.retrieval_quality import LabelledQuery
from services.trainer.evals.suite_report import run_suite
from services.trainer.evals.suites import Suite
from services.trainer.evals.truthfulqa import run_truthfulqa
from shared.errors import invalid_field
from shared.schemas.evaluation import MAX_TASK_LIMIT
from shared.schemas.vector_stores import RetrievalOptions

TASK_TYPES = ("perplexity", "source_preference", "suite", "truthfulqa", "generation", "retrieval_quality")
COMMON_KEYS = ("type", "name", "seed")
OPTIONS = {
    "perplexity": ("file", "max_seq_length", "batch_size", "limit", "completion_only"),
    "source_preference": ("file", "method", "limit", "retrieval"),
    "suite": ("suite", "file", "max_tokens", "limit", "system", "retrieval"),
    "truthfulqa": ("file", "method", "limit"),
    "generation": ("file", "prompts", "n", "max_tokens", "temperature", "limit", "retrieval"),
    "retrieval_quality": ("file", "retrieval", "limit"),
}
DEFAULT_MAX_SEQ_LENGTH = 1024
DEFAULT_BATCH_SIZE = 4
DEFAULT_MAX_TOKENS = 512
DEFAULT_GENERATION_TOKENS = 128
DEFAULT_TEMPERATURE = 0.7

MAX_LIMIT = MAX_TASK_LIMIT
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Grounding:
    """What retrieval gave one prompt: the system text carrying the chunks, and the sources' labels."""

    system: str
    sources: tuple[str, ...]


Groundings = Mapping[str, Grounding]  # prompt → its grounding, for one task


class TaskOptions(TypedDict):
    """The settings a task ran with, as its report lists them."""

    seed: int


class PerplexityOptions(TaskOptions):
    """A perplexity task's settings."""

    file: str
    max_seq_length: int
    batch_size: int
    completion_only: bool


class ChoiceOptions(TaskOptions):
    """A multiple-choice task's settings (source preference, TruthfulQA); `file` None: the built-in set."""

    method: str
    file: str | None


class SourcePreferenceOptions(ChoiceOptions):
    """A source-preference task's settings."""

    retrieval: dict[str, Any] | None


class SuiteOptions(TaskOptions):
    """A suite task's settings."""

    suite: str
    max_tokens: int
    limit: int | None
    system: str | None
    retrieval: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class EvalTask:
    """A validated task with its data loaded, ready to run on a model."""

    type: ClassVar[str] = ""
    name: str
    seed: int

    def options(self) -> TaskOptions:
        """The task's settings, for the report."""
        return {"seed": self.seed}


@dataclass(frozen=True, kw_only=True)
class PerplexityTask(EvalTask):
    """Perplexity per authority band of scored training records."""

    type: ClassVar[str] = "perplexity"
    file: Path
    records: tuple[dict[str, Any], ...]  # open: the user's training records
    lines: tuple[int, ...]
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    batch_size: int = DEFAULT_BATCH_SIZE
    completion_only: bool = True

    def options(self) -> PerplexityOptions:
        return {
            "seed": self.seed,
            "file": self.file.name,
            "max_seq_length": self.max_seq_length,
            "batch_size": self.batch_size,
            "completion_only": self.completion_only,
        }


@dataclass(frozen=True, kw_only=True)
class SourcePreferenceTask(EvalTask):
    """Multiple-choice items where one option is the primary source."""

    type: ClassVar[str] = "source_preference"
    items: tuple[MultipleChoiceItem, ...]
    method: str = "letter"
    file: Path | None = None
    retrieval: RetrievalOptions | None = None

    def options(self) -> SourcePreferenceOptions:
        return {
            "seed": self.seed,
            "method": self.method,
            "file": self.file.name if self.file else None,
            "retrieval": self.retrieval.model_dump() if self.retrieval else None,
        }


@dataclass(frozen=True, kw_only=True)
class SuiteTask(EvalTask):
    """A validation suite answered by greedy generation."""

    type: ClassVar[str] = "suite"
    suite: Suite
    max_tokens: int = DEFAULT_MAX_TOKENS
    limit: int | None = None
    system: str | None = None
    retrieval: RetrievalOptions | None = None

    def options(self) -> SuiteOptions:
        return {
            "seed": self.seed,
            "suite": self.suite.name,
            "max_tokens": self.max_tokens,
            "limit": self.limit,
            "system": self.system,
            "retrieval": self.retrieval.model_dump() if self.retrieval else None,
        }


@dataclass(frozen=True, kw_only=True)
class TruthfulQATask(EvalTask):
    """TruthfulQA-format multiple-choice items (MC1)."""

    type: ClassVar[str] = "truthfulqa"
    items: tuple[MultipleChoiceItem, ...]
    method: str = "option"
    file: Path | None = None

    def options(self) -> ChoiceOptions:
        return {"seed": self.seed, "method": self.method, "file": self.file.name if self.file else None}


class GenerationOptions(TaskOptions):
    """A free-generation task's settings."""

    n: int
    max_tokens: int
    temperature: float
    file: str | None
    retrieval: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class GenerationTask(EvalTask):
    """Prompts answered `n` times each, sampled with the task's seed: every answer kept, in prompt order."""

    type: ClassVar[str] = "generation"
    prompts: tuple[str, ...]
    n: int = 1
    max_tokens: int = DEFAULT_GENERATION_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    file: Path | None = None
    retrieval: RetrievalOptions | None = None

    def options(self) -> GenerationOptions:
        return {
            "seed": self.seed,
            "n": self.n,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "file": self.file.name if self.file else None,
            "retrieval": self.retrieval.model_dump() if self.retrieval else None,
        }


class RetrievalQualityOptions(TaskOptions):
    """A retrieval-quality task's settings."""

    file: str
    retrieval: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RetrievalQualityTask(EvalTask):
    """Labelled queries searched in vector stores; the evaluation worker measures it once, for every model."""

    type: ClassVar[str] = "retrieval_quality"
    queries: tuple[LabelledQuery, ...]
    retrieval: RetrievalOptions
    file: Path

    def options(self) -> RetrievalQualityOptions:
        return {"seed": self.seed, "file": self.file.name, "retrieval": self.retrieval.model_dump()}


AnyTask = PerplexityTask | SourcePreferenceTask | SuiteTask | TruthfulQATask | GenerationTask | RetrievalQualityTask


def _system(own: str | None, grounding: Grounding | None) -> str | None:
    if grounding is None:
        return own
    return f"{own}\n\n{grounding.system}" if own else grounding.system


def retrieval_prompts(task: AnyTask) -> tuple[RetrievalOptions, list[str]] | None:
    """A task's retrieval options and the prompts to search with, in order; None for a task without retrieval."""
    if isinstance(task, SuiteTask) and task.retrieval is not None:
        items = task.suite.items[: task.limit] if task.limit is not None else task.suite.items
        return task.retrieval, [item.prompt for item in items]
    if isinstance(task, GenerationTask) and task.retrieval is not None:
        return task.retrieval, list(task.prompts)
    if isinstance(task, SourcePreferenceTask) and task.retrieval is not None:
        return task.retrieval, [item.question for item in task.items]
    return None


def run_task(
    model: nn.Module,
    tokenizer: Any,
    task: AnyTask,
    progress: Callable[[int, int], None] | None = None,
    groundings: Groundings | None = None,
) -> dict[str, Any]:  # open: a task's report, its keys depend on the task type
    """One task's report on one model (see `run_tasks`); `groundings` give a task with retrieval its chunks."""
    if isinstance(task, PerplexityTask):
        report = band_perplexity(
            model,
            tokenizer,
            task.records,
            lines=task.lines,
            field=f"{task.name}.file",
            max_seq_length=task.max_seq_length,
            batch_size=task.batch_size,
            completion_only=task.completion_only,
            progress=progress,
        )
        return report.to_dict()
    grounded = groundings or {}
    if isinstance(task, SourcePreferenceTask):
        chosen = run_source_preference(
            model,
            tokenizer,
            task.items,
            seed=task.seed,
            method=task.method,
            progress=progress,
            system=lambda question: _system(None, grounded.get(question)),
        )
        _add_sources(chosen, "question", grounded)
        return chosen
    if isinstance(task, TruthfulQATask):
        return run_truthfulqa(model, tokenizer, task.items, seed=task.seed, method=task.method, progress=progress)
    if isinstance(task, GenerationTask):
        return run_generation(model, tokenizer, task, progress, grounded)
    if isinstance(task, SuiteTask):

        def reply(prompt: str) -> str:
            system = _system(task.system, grounded.get(prompt))
            return generate_reply(model, tokenizer, prompt, max_tokens=task.max_tokens, system=system)

        suite_report = run_suite(reply, task.suite, limit=task.limit, progress=progress)
        _add_sources(suite_report, "prompt", grounded)
        return suite_report
    if isinstance(task, RetrievalQualityTask):
        raise invalid_field("task", task.name, "a task the evaluation worker measures (it searches the stores)")
    raise invalid_field("task", task, "a task made by parse_tasks")


def _add_sources(report: dict[str, Any], key: str, grounded: Groundings) -> None:
    """Each result's `sources` (`file#chunk`), found by its `key` (the text searched with); none without retrieval."""
    if grounded:
        for result in report.get("results", []):
            found = grounded.get(result[key])
            result["sources"] = list(found.sources) if found is not None else []


def run_generation(
    model: nn.Module,
    tokenizer: Any,
    task: GenerationTask,
    progress: Callable[[int, int], None] | None = None,
    groundings: Groundings | None = None,
) -> dict[str, Any]:  # open: the task's report
    """Every prompt's `n` answers (prompt k's answer i sampled with seed + k·n + i), and their mean length."""
    items = []
    for k, prompt in enumerate(task.prompts):
        grounding = (groundings or {}).get(prompt)
        answers = sample_replies(
            model,
            tokenizer,
            prompt,
            n=task.n,
            max_tokens=task.max_tokens,
            temperature=task.temperature,
            seed=task.seed + k * task.n,
            system=_system(None, grounding),
        )
        item: dict[str, Any] = {"prompt": prompt, "answers": answers}
        if grounding is not None:
            item["sources"] = list(grounding.sources)
        items.append(item)
        if progress is not None:
            progress(k + 1, len(task.prompts))
    lengths = [len(a) for item in items for a in item["answers"]]
    return {"n": len(items), "answers": len(lengths), "mean_answer_chars": sum(lengths) / len(lengths), "items": items}


def run_tasks(
    model: nn.Module,
    tokenizer: Any,
    tasks: Sequence[AnyTask],
    *,
    progress: Progress | None = None,
    groundings: Mapping[str, Groundings] | None = None,
) -> dict[str, Any]:
    """Every task on one loaded model: {task name: report}, JSON-safe; `groundings` by task name.

    Each report carries "type", "options" and "seconds" besides its own keys; `progress(task name, items done,
    items)` is called as items finish.
    """
    results: dict[str, Any] = {}  # open: {task name: report}
    for task in tasks:

        def step(done: int, total: int, name: str = task.name) -> None:
            if progress is not None:
                progress(name, done, total)

        started = time.perf_counter()
        report = run_task(model, tokenizer, task, progress=step, groundings=(groundings or {}).get(task.name))
        results[task.name] = json_safe(
            {"type": task.type, **report, "options": task.options(), "seconds": round(time.perf_counter() - started, 3)}
        )
    return results
