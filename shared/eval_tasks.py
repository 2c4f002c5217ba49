"""Evaluation tasks between their contract message (`distrust.trainer.v1.EvalTask`) and plain dicts.

Both ends of the evaluation RPCs (the gateway and the trainer service) speak dicts: `{"type": <oneof field>,
"name": …, <that message's fields>}`, with `method` as "letter" / "option".
"""

from __future__ import annotations

from typing import Any

from shared.errors import invalid_field
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb

# The most items a task may be limited to (its `limit`); the contract's field is a uint32.
MAX_TASK_LIMIT = 1_000_000
METHODS = {epb.CHOICE_METHOD_LETTER: "letter", epb.CHOICE_METHOD_OPTION: "option"}
METHOD_VALUES = {name: value for value, name in METHODS.items()}
TASK_MESSAGES = {
    "perplexity": epb.PerplexityTask,
    "source_preference": epb.SourcePreferenceTask,
    "suite": epb.SuiteTask,
    "truthfulqa": epb.TruthfulQATask,
}


def task_to_message(task: dict[str, Any], index: int = 0) -> epb.EvalTask:
    kind = task.get("type")
    if kind not in TASK_MESSAGES:
        raise invalid_field(f"tasks[{index}].type", kind, " | ".join(TASK_MESSAGES))
    options = {k: v for k, v in task.items() if k not in ("type", "name") and v is not None}
    if "method" in options:
        if options["method"] not in METHOD_VALUES:
            raise invalid_field(f"tasks[{index}].method", options["method"], "letter or option")
        options["method"] = METHOD_VALUES[options["method"]]
    fields = TASK_MESSAGES[kind].DESCRIPTOR.fields_by_name
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise invalid_field(
            f"tasks[{index}].{unknown[0]}", options[unknown[0]], f"an option of a {kind} task ({', '.join(fields)})"
        )
    try:
        message = TASK_MESSAGES[kind](**options)
    except (TypeError, ValueError) as exc:  # a value of the wrong type or out of the field's range
        name = next((k for k in options if k in str(exc)), next(iter(options), "type"))
        raise invalid_field(f"tasks[{index}].{name}", options.get(name), f"a valid value ({exc})") from None
    return epb.EvalTask(name=task.get("name") or "", **{kind: message})


def task_from_message(task: epb.EvalTask, index: int = 0) -> dict[str, Any]:
    kind = task.WhichOneof("task")
    if kind is None:
        raise invalid_field(f"tasks[{index}].type", None, " | ".join(TASK_MESSAGES))
    out: dict[str, Any] = {"type": kind}
    if task.name:
        out["name"] = task.name
    for descriptor, value in getattr(task, kind).ListFields():
        if descriptor.name == "method":
            if value not in METHODS:
                raise invalid_field(f"tasks[{index}].method", value, "letter or option")
            value = METHODS[value]
        out[descriptor.name] = value
    return out
