"""Evaluation tasks: validated from the contract's tasks (or plain dicts), run on one loaded model, compared.

A task (a `shared.schemas.evaluation` task, or a dict of the same keys) has a `type` (perplexity | source_preference | suite | truthfulqa), an optional unique `name`
(default: the type, numbered when a type repeats), an optional `seed`, and the options of its type, with files
already local paths:

    perplexity         file (required: training records with auth_weight), max_seq_length, batch_size, limit,
                       completion_only
    source_preference  file (default: the built-in set), method ("letter" | "option", default "letter"), limit
    suite              suite (a built-in name) or file, max_tokens, limit, system
    truthfulqa         file (default: the bundled sample), method (default "option"), limit

`parse_tasks` loads and checks every data file, so a bad line is reported when the evaluation is submitted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from mlx import nn
from pydantic import BaseModel

from services.trainer.core.config import MAX_SEQ_LENGTH, check_choice, check_int
from services.trainer.evals.choice import METHODS, MultipleChoiceItem
from services.trainer.evals.generation import generate_reply
from services.trainer.evals.perplexity import band_perplexity, load_records
from services.trainer.evals.preference import load_source_preference, run_source_preference
from services.trainer.evals.suites import BUILTIN_SUITES, Suite, load_suite, run_suite
from services.trainer.evals.truthfulqa import load_truthfulqa, run_truthfulqa
from shared.errors import invalid_field
from shared.schemas import evaluation as schema
from shared.schemas.evaluation import MAX_TASK_LIMIT, MAX_TOKENS

TASK_TYPES = ("perplexity", "source_preference", "suite", "truthfulqa")
COMMON_KEYS = ("type", "name", "seed")
OPTIONS = {
    "perplexity": ("file", "max_seq_length", "batch_size", "limit", "completion_only"),
    "source_preference": ("file", "method", "limit"),
    "suite": ("suite", "file", "max_tokens", "limit", "system"),
    "truthfulqa": ("file", "method", "limit"),
}
DEFAULT_MAX_SEQ_LENGTH = 1024
DEFAULT_BATCH_SIZE = 4
DEFAULT_MAX_TOKENS = 512

MAX_LIMIT = MAX_TASK_LIMIT
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, kw_only=True)
class EvalTask:
    """A validated task with its data loaded, ready to run on a model."""

    type: ClassVar[str] = ""
    name: str
    seed: int

    def options(self) -> dict[str, Any]:
        """The task's settings, for the report."""
        return {"seed": self.seed}


@dataclass(frozen=True, kw_only=True)
class PerplexityTask(EvalTask):
    """Perplexity per authority band of scored training records."""

    type: ClassVar[str] = "perplexity"
    file: Path
    records: tuple[dict[str, Any], ...]
    lines: tuple[int, ...]
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    batch_size: int = DEFAULT_BATCH_SIZE
    completion_only: bool = True

    def options(self) -> dict[str, Any]:
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

    def options(self) -> dict[str, Any]:
        return {"seed": self.seed, "method": self.method, "file": self.file.name if self.file else None}


@dataclass(frozen=True, kw_only=True)
class SuiteTask(EvalTask):
    """A validation suite answered by greedy generation."""

    type: ClassVar[str] = "suite"
    suite: Suite
    max_tokens: int = DEFAULT_MAX_TOKENS
    limit: int | None = None
    system: str | None = None

    def options(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "suite": self.suite.name,
            "max_tokens": self.max_tokens,
            "limit": self.limit,
            "system": self.system,
        }


@dataclass(frozen=True, kw_only=True)
class TruthfulQATask(EvalTask):
    """TruthfulQA-format multiple-choice items (MC1)."""

    type: ClassVar[str] = "truthfulqa"
    items: tuple[MultipleChoiceItem, ...]
    method: str = "option"
    file: Path | None = None

    def options(self) -> dict[str, Any]:
        return {"seed": self.seed, "method": self.method, "file": self.file.name if self.file else None}


AnyTask = PerplexityTask | SourcePreferenceTask | SuiteTask | TruthfulQATask


def _path(raw: Mapping[str, Any], prefix: str) -> Path | None:
    value = raw.get("file")
    if value is None:
        return None
    if not isinstance(value, str | Path) or not str(value):
        raise invalid_field(f"{prefix}.file", value, "a path to a local file")
    return Path(value)


def _optional_int(raw: Mapping[str, Any], key: str, prefix: str, low: int, high: int, default: int | None) -> Any:
    if raw.get(key) is None:
        return default
    check_int(f"{prefix}.{key}", raw[key], low, high)
    return raw[key]


def _method(raw: Mapping[str, Any], prefix: str, default: str) -> str:
    method = raw.get("method") if raw.get("method") is not None else default
    check_choice(f"{prefix}.method", method, METHODS)
    return str(method)


def _parse_one(raw: Mapping[str, Any], prefix: str, name: str, seed: int) -> AnyTask:
    kind = raw["type"]
    limit = _optional_int(raw, "limit", prefix, 1, MAX_LIMIT, None)
    path = _path(raw, prefix)
    file_field = f"{prefix}.file"
    if kind == "perplexity":
        if path is None:
            raise invalid_field(file_field, None, "a JSONL file of training records carrying auth_weight")
        completion_only = raw.get("completion_only", True)
        if not isinstance(completion_only, bool):
            raise invalid_field(f"{prefix}.completion_only", completion_only, "true or false")
        records, lines = load_records(path, field=file_field, limit=limit)
        return PerplexityTask(
            name=name,
            seed=seed,
            file=path,
            records=tuple(records),
            lines=tuple(lines),
            max_seq_length=_optional_int(raw, "max_seq_length", prefix, 2, MAX_SEQ_LENGTH, DEFAULT_MAX_SEQ_LENGTH),
            batch_size=_optional_int(raw, "batch_size", prefix, 1, 256, DEFAULT_BATCH_SIZE),
            completion_only=completion_only,
        )
    if kind == "source_preference":
        items = load_source_preference(path, field=file_field, limit=limit)
        return SourcePreferenceTask(
            name=name, seed=seed, items=tuple(items), file=path, method=_method(raw, prefix, "letter")
        )
    if kind == "truthfulqa":
        items = load_truthfulqa(path, field=file_field, limit=limit)
        return TruthfulQATask(
            name=name, seed=seed, items=tuple(items), file=path, method=_method(raw, prefix, "option")
        )
    return _parse_suite(raw, prefix, name, seed, path, limit)


def _parse_suite(
    raw: Mapping[str, Any], prefix: str, name: str, seed: int, path: Path | None, limit: int | None
) -> SuiteTask:
    file_field = f"{prefix}.file"
    suite_name = raw.get("suite")
    if suite_name is not None and path is not None:
        raise invalid_field(file_field, str(path), f"no file when {prefix}.suite is given (one or the other)")
    if suite_name is None and path is None:
        raise invalid_field(
            f"{prefix}.suite",
            None,
            f"one of {', '.join(repr(s) for s in BUILTIN_SUITES)}, or a suite file in {prefix}.file",
        )
    if suite_name is not None and suite_name not in BUILTIN_SUITES:
        raise invalid_field(f"{prefix}.suite", suite_name, f"one of {', '.join(repr(s) for s in BUILTIN_SUITES)}")
    if suite_name is not None:
        suite = load_suite(suite_name, field=f"{prefix}.suite")
    else:
        assert path is not None  # refused above when both are unset
        suite = load_suite(path, field=file_field)
    system = raw.get("system")
    if system is not None and not isinstance(system, str):
        raise invalid_field(f"{prefix}.system", system, "a string")
    return SuiteTask(
        name=name,
        seed=seed,
        suite=suite,
        limit=limit,
        system=system or None,
        max_tokens=_optional_int(raw, "max_tokens", prefix, 1, MAX_TOKENS, DEFAULT_MAX_TOKENS),
    )


def parse_tasks(tasks: Sequence[schema.AnyTask | Mapping[str, Any]], *, seed: int = 0) -> list[AnyTask]:
    """Check a task list and load its data; errors name the task and field, e.g. `tasks[1].type`.

    A plain dict may also set the options the API does not expose (seed, batch_size, completion_only, system).
    """
    if not isinstance(tasks, list | tuple) or not tasks:
        raise invalid_field("tasks", tasks, "a non-empty list of tasks")
    check_int("seed", seed, 0, 2**63 - 1)
    parsed: list[AnyTask] = []
    counts: dict[str, int] = {}
    for i, task in enumerate(tasks):
        prefix = f"tasks[{i}]"
        raw = task.model_dump() if isinstance(task, BaseModel) else task
        if not isinstance(raw, Mapping):
            raise invalid_field(prefix, raw, "an object with a type")
        kind = raw.get("type")
        if kind not in TASK_TYPES:
            raise invalid_field(f"{prefix}.type", kind, "one of " + ", ".join(repr(t) for t in TASK_TYPES))
        for key, value in raw.items():
            if key not in COMMON_KEYS and key not in OPTIONS[kind]:
                raise invalid_field(
                    f"{prefix}.{key}",
                    value,
                    f"no such option of a {kind} task (options: {', '.join(COMMON_KEYS + OPTIONS[kind])})",
                )
        counts[kind] = counts.get(kind, 0) + 1
        name = raw.get("name")
        if name is None:
            name = kind if counts[kind] == 1 else f"{kind}_{counts[kind]}"
        if not isinstance(name, str) or not name.strip():
            raise invalid_field(f"{prefix}.name", name, "a non-empty string")
        if name in {task.name for task in parsed}:
            raise invalid_field(f"{prefix}.name", name, "a name no other task of this list has")
        task_seed = _optional_int(raw, "seed", prefix, 0, 2**63 - 1, seed)
        parsed.append(_parse_one(raw, prefix, name, task_seed))
    return parsed


def run_task(
    model: nn.Module,
    tokenizer: Any,
    task: AnyTask,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """One task's report on one model (see `run_tasks`)."""
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
    if isinstance(task, SourcePreferenceTask):
        return run_source_preference(
            model, tokenizer, task.items, seed=task.seed, method=task.method, progress=progress
        )
    if isinstance(task, TruthfulQATask):
        return run_truthfulqa(model, tokenizer, task.items, seed=task.seed, method=task.method, progress=progress)
    if isinstance(task, SuiteTask):

        def reply(prompt: str) -> str:
            return generate_reply(model, tokenizer, prompt, max_tokens=task.max_tokens, system=task.system)

        return run_suite(reply, task.suite, limit=task.limit, progress=progress)
    raise invalid_field("task", task, "a task made by parse_tasks")


def run_tasks(
    model: nn.Module,
    tokenizer: Any,
    tasks: Sequence[AnyTask],
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every task on one loaded model: {task name: report}, JSON-safe.

    Each report carries "type", "options" and "seconds" besides its own keys; `progress(task name, items done,
    items)` is called as items finish.
    """
    results: dict[str, Any] = {}
    for task in tasks:

        def step(done: int, total: int, name: str = task.name) -> None:
            if progress is not None:
                progress(name, done, total)

        started = time.perf_counter()
        report = run_task(model, tokenizer, task, progress=step)
        results[task.name] = json_safe(
            {"type": task.type, **report, "options": task.options(), "seconds": round(time.perf_counter() - started, 3)}
        )
    return results


def json_safe(value: Any) -> Any:
    """Plain JSON types only: tuples to lists, paths to strings, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    return str(value)


def headline(report: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers of a report worth a side-by-side row."""
    kind = report.get("type")
    if kind == "perplexity":
        bands = report.get("bands", {})
        return {
            **{f"ppl_{band}": bands.get(band, {}).get("perplexity") for band in ("low", "mid", "high")},
            "ppl_overall": report.get("overall", {}).get("perplexity"),
            "distrust_ratio": report.get("distrust_ratio"),
        }
    if kind in ("source_preference", "truthfulqa"):
        return {key: report.get(key) for key in ("accuracy", "ci_low", "ci_high", "n")}
    if kind == "suite":
        return {key: report.get(key) for key in ("pass_rate", "passed", "n", "suite_passed")}
    return {}


def compare(results_by_model: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Side by side: models, metrics (`{"<task>.<metric>": {model: value}}`) and each model's distrust ratio.

    The ratio is that of the model's first perplexity task; a model that lacks a task shows None.
    """
    models = list(results_by_model)
    metrics: dict[str, dict[str, Any]] = {}
    ratios: dict[str, Any] = dict.fromkeys(models)
    with_ratio: set[str] = set()
    for model, reports in results_by_model.items():
        for task_name, report in reports.items():
            if not isinstance(report, Mapping):
                continue
            for metric, value in headline(report).items():
                metrics.setdefault(f"{task_name}.{metric}", dict.fromkeys(models))[model] = value
            if report.get("type") == "perplexity" and model not in with_ratio:
                ratios[model] = report.get("distrust_ratio")
                with_ratio.add(model)
    comparison: dict[str, Any] = json_safe({"models": models, "metrics": metrics, "distrust_ratio": ratios})
    return comparison
