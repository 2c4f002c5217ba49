"""Evaluations: the task variants (a union discriminated by `type`), progress and the side-by-side summary.

A task's fields are those of its message in `distrust/trainer/v1/evaluation.proto`, whose `EvalTask` oneof case
is the task's `type`. The gateway validates request bodies with these models, the trainer stores them on the
record, and the worker hands them, files made local, to `services.trainer.evals.parse_tasks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from shared.errors import invalid_field
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.schemas.request import RequestModel
from shared.schemas.vector_stores import RetrievalOptions

# The most items a task may be limited to (its `limit`); the contract's field is a uint32.
MAX_TASK_LIMIT = 1_000_000
MAX_SEQ_LENGTH = 65536
MAX_TOKENS = 8192
ChoiceMethod = Literal["letter", "option", "cyclic"]
Limit = Annotated[int | None, Field(ge=1, le=MAX_TASK_LIMIT, description="At most this many items")]
TaskName = Annotated[str | None, Field(description="Its name in the results; default: its type, numbered on repeats")]


class _Task(RequestModel):
    model_config = ConfigDict(frozen=True)

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # An unset option is absent, as in the message and in the request that asked for the task.
        return {k: v for k, v in handler(self).items() if v is not None}


class PerplexityTask(_Task):
    """Perplexity per authority band (low w < 0.3, mid, high w > 0.7) and the distrust ratio ppl_high / ppl_low."""

    type: Literal["perplexity"] = "perplexity"
    name: TaskName = None
    file: str = Field(description='A "fine-tune" file whose records carry auth_weight (a validation set)')
    max_seq_length: int | None = Field(default=None, ge=8, le=MAX_SEQ_LENGTH)
    limit: Limit = None


class SourcePreferenceTask(_Task):
    """Multiple-choice prompts where one option is the primary source; options shuffled with the eval's seed."""

    type: Literal["source_preference"] = "source_preference"
    name: TaskName = None
    file: str | None = Field(default=None, description='An "evals" file of items; default: the built-in set')
    method: ChoiceMethod | None = None
    limit: Limit = None
    retrieval: RetrievalOptions | None = Field(default=None, description="Ask with chunks of vector stores")


class SuiteTask(_Task):
    """A validation suite: prompts answered by greedy generation, scored by the rules in the suite's data."""

    type: Literal["suite"] = "suite"
    name: TaskName = None
    suite: str | None = Field(default=None, description='A built-in suite: "censorship" or "authority"')
    file: str | None = Field(default=None, description='An "evals" file holding a suite')
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    limit: Limit = None
    retrieval: RetrievalOptions | None = Field(default=None, description="Answer with chunks of vector stores")


class TruthfulQATask(_Task):
    """A benchmark in TruthfulQA's multiple-choice format (MC1), options shuffled with the eval's seed."""

    type: Literal["truthfulqa"] = "truthfulqa"
    name: TaskName = None
    file: str | None = Field(default=None, description='An "evals" file in TruthfulQA MC format; default: sample')
    method: ChoiceMethod | None = None
    limit: Limit = None


class GenerationTask(_Task):
    """Free generation kept side by side: each prompt answered `n` times by every model, sampled with the eval's seed."""

    type: Literal["generation"] = "generation"
    name: TaskName = None
    file: str | None = Field(default=None, description='An "evals" file of {"prompt": ...} lines')
    prompts: list[Annotated[str, Field(min_length=1, max_length=20_000)]] | None = Field(
        default=None, max_length=1000, description="The prompts, given inline instead of a file"
    )
    n: int | None = Field(default=None, ge=1, le=16, description="Answers per prompt (default 1)")
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="Default 0.7; 0 is greedy")
    limit: Limit = None
    retrieval: RetrievalOptions | None = Field(default=None, description="Answer with chunks of vector stores")


class RetrievalQualityTask(_Task):
    """recall@k, MRR and primary@1 of vector-store search on a labelled query file (the same for every model)."""

    type: Literal["retrieval_quality"] = "retrieval_quality"
    name: TaskName = None
    file: str = Field(description='An "evals" file of {"query", "relevant": [...], "primary"} lines')
    retrieval: RetrievalOptions = Field(description="The stores and ranking searched; k is max_num_results")
    limit: Limit = None


AnyTask = PerplexityTask | SourcePreferenceTask | SuiteTask | TruthfulQATask | GenerationTask | RetrievalQualityTask
EvalTask = Annotated[AnyTask, Field(discriminator="type")]
TASK_MODELS: dict[str, type[AnyTask]] = {
    "perplexity": PerplexityTask,
    "source_preference": SourcePreferenceTask,
    "suite": SuiteTask,
    "truthfulqa": TruthfulQATask,
    "generation": GenerationTask,
    "retrieval_quality": RetrievalQualityTask,
}


class EvalProgress(BaseModel):
    """Progress in units of one task on one model."""

    done: int = 0
    total: int = 0


MetricValue = bool | int | float | str | None


class EvalSummary(BaseModel):
    """The side-by-side comparison: `metrics["<task>.<metric>"][model]`, and each model's distrust ratio."""

    models: list[str]
    metrics: dict[str, dict[str, MetricValue]] = Field(default_factory=dict)
    distrust_ratio: dict[str, float | None] = Field(default_factory=dict)


_METHODS = {
    "letter": epb.CHOICE_METHOD_LETTER,
    "option": epb.CHOICE_METHOD_OPTION,
    "cyclic": epb.CHOICE_METHOD_CYCLIC,
}


def default_task_name(kind: str, nth: int) -> str:
    """The name of a task given none: its type, then `<type>_<n>` for the n-th task of that type (n from 2)."""
    return kind if nth == 1 else f"{kind}_{nth}"


def task_to_message(task: AnyTask) -> epb.EvalTask:
    """The contract message of a task (its type is the oneof case)."""
    fields = task.model_dump(exclude={"type", "method"})
    if isinstance(fields.get("retrieval"), dict):
        fields["retrieval"] = {k: v for k, v in fields["retrieval"].items() if v is not None}
    if isinstance(task, SourcePreferenceTask | TruthfulQATask) and task.method is not None:
        fields["method"] = _METHODS[task.method]
    message = epb.EvalTask()
    body = getattr(message, task.type)
    body.SetInParent()  # a task with no option set still picks its oneof case
    ParseDict(fields, body)
    return message


def _plain(value: Any, repeated: bool) -> Any:
    """A field's value as the pydantic model reads it: lists for repeated fields, dicts for messages."""
    if repeated:
        return list(value)
    if isinstance(value, Message):
        return MessageToDict(value, preserving_proto_field_name=True)
    return value


def task_from_message(message: epb.EvalTask, index: int = 0) -> AnyTask:
    """A task from its contract message; InvalidArgument naming `tasks[index]` when it has no valid task."""
    kind = message.WhichOneof("task")
    if kind is None:
        raise invalid_field(f"tasks[{index}].type", None, " | ".join(TASK_MODELS))
    body = getattr(message, kind)
    fields: dict[str, Any] = {d.name: _plain(v, d.is_repeated) for d, v in body.ListFields() if d.name != "method"}
    if kind in ("source_preference", "truthfulqa") and body.method:
        methods = {v: k for k, v in _METHODS.items()}
        if body.method not in methods:
            raise invalid_field(f"tasks[{index}].method", body.method, "letter or option")
        fields["method"] = methods[body.method]
    try:
        return TASK_MODELS[kind].model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise invalid_field(f"tasks[{index}].{field}", first.get("input"), first["msg"]) from None


def progress_message(progress: EvalProgress) -> epb.EvalProgress:
    """The contract message of a progress."""
    return ParseDict(progress.model_dump(include=set(EvalProgress.model_fields)), epb.EvalProgress())


def progress_from_message(message: epb.EvalProgress) -> EvalProgress:
    """A progress from its contract message."""
    return EvalProgress.model_validate(MessageToDict(message, preserving_proto_field_name=True))
