"""Each scorer message carries exactly the fields of its model, so the names are written once in Python."""

from __future__ import annotations

import dataclasses

import pytest
from google.protobuf.message import Message
from pydantic import BaseModel

from shared.jobs.records import JobError
from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
from shared.schemas.preparation import PreparationInput, PreparationOptions, PreparationProgress, PreparationRecord
from shared.schemas.scoring import Breakdown, LineError, ScoreResult

# Fields a model has that its message leaves out on purpose: the caller's identity travels beside the job.
NOT_IN_MESSAGE = {PreparationRecord: {"owner", "request_id"}}  # internal: whose it is, which request made it


def _model_fields(model: type) -> set[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return set(model.model_fields)
    return {f.name for f in dataclasses.fields(model)}


@pytest.mark.parametrize(
    ("message", "model"),
    [
        (pb.PreparationOptions, PreparationOptions),
        (pb.PreparationInput, PreparationInput),
        (pb.PreparationProgress, PreparationProgress),
        (pb.PreparationJob, PreparationRecord),
        (pb.JobError, JobError),
        (pb.Breakdown, Breakdown),
        (pb.ScoreResult, ScoreResult),
        (pb.LineError, LineError),
    ],
)
def test_message_fields_equal_model_fields(message: type[Message], model: type) -> None:
    names = set(message.DESCRIPTOR.fields_by_name)
    assert names == _model_fields(model) - NOT_IN_MESSAGE.get(model, set())


def test_no_json_strings_in_the_scorer_contract() -> None:
    for message in pb.DESCRIPTOR.message_types_by_name.values():
        assert not [f.name for f in message.fields if f.name.endswith("_json")], message.name
