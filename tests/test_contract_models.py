"""Each contract message has exactly the fields of its model in shared/schemas (aliases counted), so they cannot drift."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import Descriptor
from pydantic import BaseModel

from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.pb.distrust.trainer.v1 import hardware_pb2 as hpb
from shared.schemas import evaluation, export, hardware

# The oneof case of `EvalTask` carries a task's `type`, so the task messages have every other field.
PAIRS: list[tuple[type[BaseModel], Descriptor, set[str]]] = [
    (evaluation.PerplexityTask, epb.PerplexityTask.DESCRIPTOR, {"type"}),
    (evaluation.SourcePreferenceTask, epb.SourcePreferenceTask.DESCRIPTOR, {"type"}),
    (evaluation.SuiteTask, epb.SuiteTask.DESCRIPTOR, {"type"}),
    (evaluation.TruthfulQATask, epb.TruthfulQATask.DESCRIPTOR, {"type"}),
    (evaluation.GenerationTask, epb.GenerationTask.DESCRIPTOR, {"type"}),
    (evaluation.EvalProgress, epb.EvalProgress.DESCRIPTOR, set()),
    (export.ExportOptions, xpb.ExportOptions.DESCRIPTOR, set()),
    (export.QuantizeConfig, xpb.QuantizeConfig.DESCRIPTOR, set()),
    (export.ExportResult, xpb.ExportResult.DESCRIPTOR, set()),
    (export.Quantization, xpb.Quantization.DESCRIPTOR, set()),
    (export.GgufFile, xpb.GgufFile.DESCRIPTOR, set()),
    (hardware.Hardware, hpb.Hardware.DESCRIPTOR, set()),
    (hardware.WorkerHardware, hpb.WorkerHardware.DESCRIPTOR, set()),
    (hardware.MemoryEstimate, hpb.MemoryEstimate.DESCRIPTOR, set()),
    (hardware.Recommendation, hpb.Recommendation.DESCRIPTOR, set()),
    (hardware.HardwareRecommendation, hpb.HardwareRecommendation.DESCRIPTOR, set()),
]


def _wire_names(model: type[BaseModel]) -> set[str]:
    # A computed field (a total) is sent too, so its message carries it.
    return {info.alias or name for name, info in model.model_fields.items()} | set(model.model_computed_fields)


@pytest.mark.parametrize(("model", "descriptor", "carried_elsewhere"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_message_fields_equal_model_fields(
    model: type[BaseModel], descriptor: Descriptor, carried_elsewhere: set[str]
) -> None:
    assert set(descriptor.fields_by_name) == _wire_names(model) - carried_elsewhere


def test_task_cases_are_the_task_types() -> None:
    cases = {f.name for f in epb.EvalTask.DESCRIPTOR.oneofs_by_name["task"].fields}
    assert cases == set(evaluation.TASK_MODELS)
    for kind, model in evaluation.TASK_MODELS.items():
        assert model.model_fields["type"].default == kind
        assert epb.EvalTask.DESCRIPTOR.fields_by_name[kind].message_type.name == model.__name__


def test_an_unset_group_size_is_left_to_the_model() -> None:
    assert export.QuantizeConfig(bits=4).group_size == export.DEFAULT_GROUP_SIZE == 64
    assert xpb.QuantizeConfig.DESCRIPTOR.fields_by_name["group_size"].has_presence
