"""The fine-tuning contract: proto fields equal the schema models' fields, and values survive each conversion."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest
from pydantic import BaseModel

from services.gateway.schemas.fine_tuning import JobCreate
from services.gateway.trainer_client import checkpoint_object, event_object, job_object
from services.trainer.jobs.records import CheckpointRecord, JobRecord
from services.trainer.rpc import convert
from shared.errors import InvalidArgument
from shared.jobs.records import EventRecord, JobError, JobStatus
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.rpc.messages import from_message, to_message
from shared.schemas.fine_tuning import (
    CheckpointMetrics,
    DistrustSpec,
    Hyperparameters,
    LoraSpec,
    PreferenceSpec,
    ResolvedHyperparameters,
)

PAIRS: list[tuple[type[BaseModel], object, frozenset[str]]] = [
    (Hyperparameters, pb.Hyperparameters, frozenset()),
    (DistrustSpec, pb.DistrustConfig, frozenset()),
    (LoraSpec, pb.LoraConfig, frozenset()),
    (PreferenceSpec, pb.PreferenceConfig, frozenset()),
    (CheckpointMetrics, pb.CheckpointMetrics, frozenset()),
    (JobError, pb.JobError, frozenset()),
    (JobRecord, pb.Job, frozenset({"request_id"})),  # internal: the request that made it, for the worker's logs
    (EventRecord, pb.JobEvent, frozenset()),
    (JobCreate, pb.CreateJobRequest, frozenset({"owner"})),  # the owner comes from the caller's key
    (CheckpointRecord, pb.Checkpoint, frozenset({"files", "fine_tuned_model_checkpoint"})),
]


def _names(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(("model", "message", "only_one_side"), PAIRS, ids=lambda p: getattr(p, "__name__", ""))
def test_proto_fields_equal_the_models_fields(
    model: type[BaseModel], message: object, only_one_side: frozenset[str]
) -> None:
    proto = set(message.DESCRIPTOR.fields_by_name)  # type: ignore[attr-defined]  # generated message class
    assert proto ^ _names(model) == only_one_side


def _job() -> JobRecord:
    return JobRecord(
        owner="alice",
        model="tiny",
        training_file="file-1",
        seed=7,
        status=JobStatus.RUNNING,
        hyperparameters=Hyperparameters(batch_size=2, max_steps=9, learning_rate_multiplier=0.5),
        distrust=DistrustSpec(mode="additive", lambda_=0.3, weighting="monotone"),
        lora=LoraSpec(rank=4, keys=["self_attn.q_proj"], dropout=0.1),
        step=3,
        total_steps=9,
        error=JobError(code="oops", message="it broke"),
    )


def test_a_record_reaches_the_http_model_unchanged() -> None:
    record = _job()
    job = job_object(convert.job_message(record))
    assert job.hyperparameters == record.hyperparameters.resolved()
    assert (job.hyperparameters.n_epochs, job.hyperparameters.learning_rate) == (3, pytest.approx(1e-4))
    assert job.distrust == record.distrust and job.lora == record.lora
    assert (job.organization_id, job.status, job.step, job.total_steps) == ("alice", "running", 3, 9)
    assert job.error is not None and job.error.code == "oops" and job.error.param is None
    assert job.validation_file is None and job.suffix is None and job.finished_at is None
    body = job.model_dump(mode="json")
    assert body["distrust"]["lambda"] == 0.3 and "lambda_" not in body["distrust"]
    assert body["method"]["supervised"]["hyperparameters"] == body["hyperparameters"]  # OpenAI echoes the resolved set


def test_a_create_request_becomes_the_same_record() -> None:
    create = JobCreate(
        model="tiny",
        training_file="file-1",
        hyperparameters=Hyperparameters(n_epochs=2),
        distrust=DistrustSpec.model_validate({"lambda": 0.9, "mode": "additive"}),
        lora=LoraSpec(layers=2),
    )
    record = convert.job_record(to_message(pb.CreateJobRequest, create, owner="alice"))
    assert record.owner == "alice" and record.seed >= 0 and record.validation_file is None
    assert record.hyperparameters == create.hyperparameters and record.hyperparameters.batch_size == "auto"
    assert record.distrust == create.distrust and record.lora == create.lora


def test_events_carry_open_data_and_checkpoints_typed_metrics() -> None:
    data = {"step": 4, "train_loss": 1.25, "bands": {"low": [1, 2.5]}, "note": None}
    event = EventRecord(sequence=5, message="Step 4", type="metrics", data=data, status=JobStatus.RUNNING)
    shown = event_object(convert.event_message(event))
    assert shown.data == data and isinstance(shown.data["step"], int)
    assert (shown.sequence, shown.status, shown.object) == (5, "running", "fine_tuning.job.event")
    checkpoint = CheckpointRecord(
        job_id="ftjob-1",
        step=4,
        storage_prefix="p",
        files={"a": "sha"},
        metrics=CheckpointMetrics(step=4, train_loss=1.5),
    )
    shown_checkpoint = checkpoint_object(convert.checkpoint_message(checkpoint))
    assert shown_checkpoint.metrics == checkpoint.metrics and shown_checkpoint.step_number == 4
    assert shown_checkpoint.fine_tuned_model_checkpoint.endswith(":ckpt-step-4")


def test_an_unknown_enum_number_names_the_field() -> None:
    request = pb.CreateJobRequest(model="tiny", training_file="f", distrust=pb.DistrustConfig(mode=9))
    with pytest.raises(InvalidArgument) as info:
        convert.job_record(request)
    assert info.value.param == "distrust.mode" and "weighted, additive, none" in info.value.message


def test_out_of_range_values_from_the_contract_are_refused_with_the_api_name() -> None:
    with pytest.raises(InvalidArgument) as info:
        from_message(ResolvedHyperparameters, pb.Hyperparameters(batch_size=5000))
    assert info.value.param == "hyperparameters.batch_size"


# Names that also mean something else in services/ and shared/ (an eval's batch_size, a step's learning_rate, an
# export's mode, mlx-lm's LoRA parameters, checks that need the model) are left out; the CLI's flags are not counted.
HOMONYMS = {"batch_size", "max_seq_length", "learning_rate", "mode", "alpha", "weighting", "rank", "layers", "keys"}
HOMONYMS |= {"dropout"}
GROUPS = ("hyperparameters", "distrust", "lora")
SPECS = (Hyperparameters, DistrustSpec, LoraSpec)
SPEC_NAMES = sorted(
    {name for m in SPECS for n, f in m.model_fields.items() for name in (n, f.alias) if name} - HOMONYMS
)
ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _spellings() -> list[tuple[str, str]]:
    """(spelled name or string, where) for every declaration and string constant in services/ and shared/."""
    found = []
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]:
        if "pb" in path.relative_to(ROOT).parts[:2]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found.append((node.target.id, f"{path.relative_to(ROOT)}:{node.lineno}"))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((node.value, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return found


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_each_field_name_is_written_once(name: str) -> None:
    spellings = (name, *(f"{group}.{name}" for group in GROUPS))
    found = [where for text, where in _spellings() if text in spellings]
    assert len(found) == 1 and found[0].startswith("shared/schemas/fine_tuning.py:"), found


def test_a_dpo_record_reaches_the_http_model_with_beta_in_openais_place() -> None:
    record = _job().model_copy(
        update={
            "method": "dpo",
            "preference": PreferenceSpec(loss="simpo", gamma=1.5),
            "distrust": DistrustSpec(mode="none"),
        }
    )
    job = job_object(convert.job_message(record))
    body = job.model_dump(mode="json")
    assert body["method"]["type"] == "dpo" and "supervised" not in body["method"]
    assert body["method"]["dpo"]["hyperparameters"] == {**body["hyperparameters"], "beta": 0.1}
    assert body["preference"] == {
        "loss": "simpo",
        "beta": 0.1,
        "gamma": 1.5,
        "weight_by_margin": False,
        "rpo_alpha": 0.0,
    }
    supervised = job_object(convert.job_message(_job())).model_dump(mode="json")
    assert supervised["preference"] is None and supervised["method"]["type"] == "supervised"


def test_a_dpo_create_request_becomes_the_same_record() -> None:
    create = JobCreate(model="tiny", training_file="f", method="dpo", preference=PreferenceSpec(beta=0.3, loss="ipo"))
    record = convert.job_record(to_message(pb.CreateJobRequest, create, owner="alice"))
    assert record.method == "dpo" and record.preference == create.preference
    assert (
        convert.job_record(to_message(pb.CreateJobRequest, JobCreate(model="t", training_file="f"), owner="a")).method
        == "supervised"
    )
