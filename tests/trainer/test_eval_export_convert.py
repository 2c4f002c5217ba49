"""The conversion layer: record → contract message (through the wire) → HTTP object, and request bodies back."""

from __future__ import annotations

import pytest

from services.gateway.evaluation_client import eval_object, export_object
from services.gateway.schemas.export import CreateExport
from services.trainer.jobs.records import EvalRecord, EvalRunProgress, ExportRecord
from services.trainer.rpc import convert
from shared.errors import InvalidArgument
from shared.jobs.records import JobError, JobStatus
from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.rpc.messages import open_data
from shared.schemas.evaluation import (
    EvalSummary,
    PerplexityTask,
    SourcePreferenceTask,
    SuiteTask,
    TruthfulQATask,
    task_from_message,
    task_to_message,
)
from shared.schemas.export import ExportOptions, ExportResult, GgufFile, QuantizeConfig, options_message

TASKS = [
    PerplexityTask(name="val", file="file-1", max_seq_length=256, limit=10),
    SourcePreferenceTask(name="source_preference", method="letter"),
    SuiteTask(name="suite", suite="authority", max_tokens=64),
    TruthfulQATask(name="truthfulqa", file="file-2", method="option", limit=3),
]


def _wire(message: epb.Eval | xpb.Export) -> epb.Eval | xpb.Export:
    return type(message).FromString(message.SerializeToString())


def test_an_eval_record_reaches_http_unchanged() -> None:
    summary = EvalSummary(
        models=["base", "ft:base:x"],
        metrics={"val.ppl_low": {"base": 12.5, "ft:base:x": None}, "suite.n": {"base": 3, "ft:base:x": 3}},
        distrust_ratio={"base": 1.25, "ft:base:x": None},
    )
    record = EvalRecord(
        owner="alice",
        name="side by side",
        models=["base", "ft:base:x"],
        tasks=TASKS,
        seed=7,
        status=JobStatus.SUCCEEDED,
        started_at=5,
        finished_at=9,
        progress=EvalRunProgress(done=8, total=8, model="base", task="suite", item=2, items=3),
        summary=summary,
    )
    body = eval_object(_wire(convert.eval_message(record))).model_dump(mode="json")
    assert body == {
        "id": record.id,
        "object": "eval",
        "name": "side by side",
        "status": "succeeded",
        "models": ["base", "ft:base:x"],
        "tasks": [t.model_dump() for t in TASKS],
        "seed": 7,
        "created_at": record.created_at,
        "started_at": 5,
        "finished_at": 9,
        "error": None,
        "progress": {"done": 8, "total": 8},
        "summary": summary.model_dump(),
    }
    assert body["summary"]["metrics"]["suite.n"]["base"] == 3 and isinstance(
        body["summary"]["metrics"]["suite.n"]["base"], int
    )


def test_unset_task_options_stay_unset() -> None:
    task = TruthfulQATask()
    assert task.model_dump() == {"type": "truthfulqa"}
    assert task_from_message(epb.EvalTask.FromString(task_to_message(task).SerializeToString())) == task


def test_a_message_the_model_refuses_names_the_task_field() -> None:
    with pytest.raises(InvalidArgument) as info:
        task_from_message(epb.EvalTask(truthfulqa=epb.TruthfulQATask(limit=2**31)), 2)
    assert info.value.param == "tasks[2].limit" and str(2**31) in info.value.message
    with pytest.raises(InvalidArgument) as info:
        task_from_message(epb.EvalTask(), 1)
    assert info.value.param == "tasks[1].type"


def test_an_eval_request_keeps_its_tasks_and_defaults() -> None:
    request = epb.CreateEvalRequest(owner="alice", models=["m"], tasks=[task_to_message(t) for t in TASKS])
    converted = convert.eval_request(request)
    assert converted.tasks == TASKS and converted.include_base and converted.seed is None and converted.name is None


def test_the_full_report_keeps_whole_numbers() -> None:
    report = {"models": {"m": {"suite": {"n": 3, "pass_rate": 0.5, "results": [{"id": "a", "passed": True}]}}}}
    assert open_data(convert.results_message("eval-1", report).results) == report


def test_an_export_record_reaches_http_unchanged() -> None:
    options = ExportOptions(dtype="float32", gguf=True)
    result = ExportResult(
        files=["config.json", "model.safetensors"],
        bytes=123_456_789_012,
        architecture="llama",
        dtype="float32",
        fused_layers=4,
        dequantized_base=False,
        gguf=GgufFile(key="exports/x/m.gguf", bytes=99, sha256="ab"),
        seconds=1.5,
    )
    record = ExportRecord(
        owner="alice",
        model="ft:base:x",
        base_model="base",
        output_model="fused",
        options=options,
        status=JobStatus.FAILED,
        error=JobError(code="oom", message="no memory"),
        result=result,
    )
    body = export_object(_wire(convert.export_message(record))).model_dump(mode="json")
    assert body["object"] == "model.export" and body["status"] == "failed"
    assert body["options"] == {"quantize": None, "gguf": True, "dtype": "float32"}
    assert body["result"] == {**result.model_dump(), "quantization": None}
    assert body["error"] == {"code": "oom", "message": "no memory", "param": None}
    assert body["started_at"] is None and body["finished_at"] is None


def test_export_options_through_a_request() -> None:
    body = CreateExport.model_validate({"model": "ft:a", "quantize": {"bits": 4}})
    request = xpb.CreateExportRequest(owner="alice", model=body.model, options=options_message(body))
    converted = convert.export_request(xpb.CreateExportRequest.FromString(request.SerializeToString()))
    assert converted.options == ExportOptions(quantize=QuantizeConfig(bits=4, group_size=64))
    assert converted.name is None and converted.options.quantization == {"bits": 4, "group_size": 64, "mode": "affine"}
    with pytest.raises(InvalidArgument) as info:
        CreateExport.model_validate({"model": "ft:a", "dtypo": "float16"})
    assert info.value.param == "dtypo"
