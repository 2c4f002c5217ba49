"""Task lists checked and their data loaded: errors name the task and the field, e.g. `tasks[1].method`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from services.trainer.core.config import MAX_SEQ_LENGTH, check_choice, check_int
from services.trainer.evals.choice import METHODS
from services.trainer.evals.datafiles import fail, read_objects
from services.trainer.evals.perplexity import load_records
from services.trainer.evals.preference import load_source_preference
from services.trainer.evals.retrieval_quality import load_labelled_queries
from services.trainer.evals.suites import BUILTIN_SUITES, load_suite
from services.trainer.evals.tasks import (
    COMMON_KEYS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_GENERATION_TOKENS,
    DEFAULT_MAX_SEQ_LENGTH,
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    MAX_LIMIT,
    OPTIONS,
    TASK_TYPES,
    AnyTask,
    GenerationTask,
    PerplexityTask,
    RetrievalQualityTask,
    SourcePreferenceTask,
    SuiteTask,
    TruthfulQATask,
)
from services.trainer.evals.truthfulqa import load_truthfulqa
from shared.errors import invalid_field
from shared.schemas import evaluation as schema
from shared.schemas.evaluation import MAX_TOKENS
from shared.schemas.fine_tuning import check_float
from shared.schemas.vector_stores import RetrievalOptions


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
            name=name,
            seed=seed,
            items=tuple(items),
            file=path,
            method=_method(raw, prefix, "letter"),
            retrieval=_retrieval(raw, prefix),
        )
    if kind == "truthfulqa":
        items = load_truthfulqa(path, field=file_field, limit=limit)
        return TruthfulQATask(
            name=name, seed=seed, items=tuple(items), file=path, method=_method(raw, prefix, "option")
        )
    if kind == "generation":
        return _parse_generation(raw, prefix, name, seed, path, limit)
    if kind == "retrieval_quality":
        retrieval = _retrieval(raw, prefix)
        if path is None or retrieval is None:
            missing = "file" if path is None else "retrieval"
            raise invalid_field(f"{prefix}.{missing}", None, "a labelled query file and the retrieval options (both)")
        queries = load_labelled_queries(path, field=file_field, limit=limit)
        return RetrievalQualityTask(name=name, seed=seed, queries=tuple(queries), retrieval=retrieval, file=path)
    return _parse_suite(raw, prefix, name, seed, path, limit)


def _parse_generation(
    raw: Mapping[str, Any], prefix: str, name: str, seed: int, path: Path | None, limit: int | None
) -> GenerationTask:
    inline = raw.get("prompts")
    if (inline is None) == (path is None):
        raise invalid_field(f"{prefix}.prompts", inline, f"a list of prompts, or an evals file in {prefix}.file (one)")
    if path is not None:
        prompts = load_prompts(path, field=f"{prefix}.file")
    elif isinstance(inline, list | tuple) and inline and all(isinstance(p, str) and p.strip() for p in inline):
        prompts = [str(p) for p in inline]
    else:
        raise invalid_field(f"{prefix}.prompts", inline, "a non-empty list of non-empty strings")
    temperature = raw.get("temperature")
    if temperature is not None:
        check_float(f"{prefix}.temperature", temperature, 0.0, 2.0)
    return GenerationTask(
        name=name,
        seed=seed,
        prompts=tuple(prompts[:limit] if limit else prompts),
        n=_optional_int(raw, "n", prefix, 1, 16, 1),
        max_tokens=_optional_int(raw, "max_tokens", prefix, 1, MAX_TOKENS, DEFAULT_GENERATION_TOKENS),
        temperature=float(temperature) if temperature is not None else DEFAULT_TEMPERATURE,
        file=path,
        retrieval=_retrieval(raw, prefix),
    )


def load_prompts(path: Path, *, field: str) -> list[str]:
    """The `prompt` of every line of a JSONL file; InvalidArgument naming the first bad line."""
    prompts = []
    for where, record in read_objects(path, field=field):
        prompt = record.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise fail(field, where, 'expected a non-empty "prompt" string')
        prompts.append(prompt)
    return prompts


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
        retrieval=_retrieval(raw, prefix),
    )


def _retrieval(raw: Mapping[str, Any], prefix: str) -> RetrievalOptions | None:
    value = raw.get("retrieval")
    if value is None or isinstance(value, RetrievalOptions):
        return value
    try:
        return RetrievalOptions.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise invalid_field(f"{prefix}.retrieval.{field}", first.get("input"), first["msg"]) from None


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
            name = schema.default_task_name(kind, counts[kind])
        if not isinstance(name, str) or not name.strip():
            raise invalid_field(f"{prefix}.name", name, "a non-empty string")
        if name in {task.name for task in parsed}:
            raise invalid_field(f"{prefix}.name", name, "a name no other task of this list has")
        task_seed = _optional_int(raw, "seed", prefix, 0, 2**63 - 1, seed)
        parsed.append(_parse_one(raw, prefix, name, task_seed))
    return parsed
