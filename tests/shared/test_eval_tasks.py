"""Evaluation tasks through their contract message and back, and the errors for tasks the contract cannot carry."""

from __future__ import annotations

import pytest

from shared.errors import InvalidArgument
from shared.eval_tasks import task_from_message, task_to_message
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb

TASKS = [
    {"type": "perplexity", "name": "val", "file": "file-1", "max_seq_length": 256, "limit": 10},
    {"type": "source_preference", "method": "letter"},
    {"type": "suite", "suite": "authority", "max_tokens": 64},
    {"type": "truthfulqa", "file": "file-2", "method": "option", "limit": 3},
]


@pytest.mark.parametrize("task", TASKS, ids=[t["type"] for t in TASKS])
def test_round_trip(task: dict[str, object]) -> None:
    message = task_to_message(task)
    wire = epb.EvalTask.FromString(message.SerializeToString())
    assert task_from_message(wire) == task


def test_unset_options_stay_unset() -> None:
    assert task_from_message(task_to_message({"type": "truthfulqa", "limit": None})) == {"type": "truthfulqa"}


@pytest.mark.parametrize(
    ("task", "param"),
    [
        ({"type": "vibes"}, "tasks[2].type"),
        ({"type": "suite", "method": "letter"}, "tasks[2].method"),
        ({"type": "truthfulqa", "method": "guess"}, "tasks[2].method"),
    ],
)
def test_refused(task: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        task_to_message(task, 2)
    assert error.value.param == param


def test_a_message_without_a_task_names_the_type() -> None:
    with pytest.raises(InvalidArgument) as error:
        task_from_message(epb.EvalTask(name="x"), 1)
    assert error.value.param == "tasks[1].type"


def test_values_the_contract_cannot_carry_name_their_field() -> None:
    with pytest.raises(InvalidArgument) as info:
        task_to_message({"type": "truthfulqa", "limit": 2**40}, 2)
    assert info.value.param == "tasks[2].limit" and str(2**40) in info.value.message
    with pytest.raises(InvalidArgument) as info:
        task_to_message({"type": "suite", "max_tokens": "many"})
    assert info.value.param == "tasks[0].max_tokens"
