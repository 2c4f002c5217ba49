"""The gateway's client of the trainer service: OpenAI-shaped dicts in and out, typed errors from statuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.pb.distrust.trainer.v1 import trainer_pb2_grpc
from shared.rpc.client import call_metadata
from shared.rpc.status import error_from_rpc

STATUS_NAMES = {v: k.removeprefix("JOB_STATUS_").lower() for k, v in pb.JobStatus.items()}
MODES = {"weighted": pb.DISTRUST_MODE_WEIGHTED, "additive": pb.DISTRUST_MODE_ADDITIVE, "none": pb.DISTRUST_MODE_NONE}
WEIGHTINGS = {"plain": pb.WEIGHTING_PLAIN, "monotone": pb.WEIGHTING_MONOTONE}


def call(fn: Any, request: Any, *, timeout: float | None = 30.0) -> Any:
    try:
        return fn(request, timeout=timeout, metadata=call_metadata())
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, service="trainer") from exc


def error_dict(error: pb.JobError) -> dict[str, Any] | None:
    return {"code": error.code, "message": error.message, "param": error.param or None} if error.code else None


def job_dict(job: pb.Job) -> dict[str, Any]:
    """OpenAI's fine_tuning.job object, plus our `distrust`, `lora`, `step` / `total_steps` fields."""
    hp = MessageToDict(job.hyperparameters, preserving_proto_field_name=True)
    distrust = MessageToDict(job.distrust, preserving_proto_field_name=True)
    distrust["mode"] = (
        job.distrust.mode and pb.DistrustMode.Name(job.distrust.mode).removeprefix("DISTRUST_MODE_").lower()
    )
    distrust["weighting"] = (
        pb.Weighting.Name(job.distrust.weighting).removeprefix("WEIGHTING_").lower()
        if job.distrust.weighting
        else "plain"
    )
    return {
        "id": job.id,
        "object": "fine_tuning.job",
        "model": job.model,
        "created_at": job.created_at,
        "finished_at": job.finished_at or None,
        "fine_tuned_model": job.fine_tuned_model or None,
        "organization_id": job.owner,
        "result_files": list(job.result_files),
        "status": STATUS_NAMES[job.status],
        "validation_file": job.validation_file or None,
        "training_file": job.training_file,
        "hyperparameters": hp,
        "trained_tokens": job.trained_tokens or None,
        "seed": job.seed,
        "suffix": job.suffix or None,
        "estimated_finish": None,
        "error": error_dict(job.error),
        "method": {"type": "supervised", "supervised": {"hyperparameters": hp}},
        "distrust": distrust,
        "lora": MessageToDict(job.lora, preserving_proto_field_name=True),
        "step": job.step,
        "total_steps": job.total_steps,
    }


def event_dict(event: pb.JobEvent, kind: str = "fine_tuning.job.event") -> dict[str, Any]:
    return {
        "id": event.id,
        "object": kind,
        "created_at": event.created_at,
        "level": event.level,
        "message": event.message,
        "type": event.type,
        "sequence": event.sequence,
        "data": json.loads(event.data_json or "{}"),
        "status": STATUS_NAMES[event.status] if event.status else None,
    }


class TrainerClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = trainer_pb2_grpc.TrainerServiceStub(channel)

    def create(self, owner: str, body: dict[str, Any]) -> dict[str, Any]:
        hp = {k: v for k, v in body.get("hyperparameters", {}).items() if v != "auto"}
        distrust = dict(body.get("distrust") or {})
        request = pb.CreateJobRequest(
            owner=owner,
            model=body["model"],
            training_file=body["training_file"],
            validation_file=body.get("validation_file") or "",
            suffix=body.get("suffix") or "",
            hyperparameters=pb.Hyperparameters(**hp),
            distrust=pb.DistrustConfig(
                mode=MODES.get(distrust.pop("mode", None) or "", 0),
                weighting=WEIGHTINGS.get(distrust.pop("weighting", None) or "", 0),
                **{k: v for k, v in distrust.items() if v is not None},
            ),
            lora=pb.LoraConfig(**{k: v for k, v in (body.get("lora") or {}).items() if v is not None}),
        )
        if body.get("seed") is not None:
            request.seed = body["seed"]
        return job_dict(call(self.stub.CreateJob, request, timeout=300))

    def get(self, owner: str, job_id: str) -> dict[str, Any]:
        return job_dict(call(self.stub.GetJob, pb.GetJobRequest(owner=owner, job_id=job_id)))

    def list(self, owner: str, *, after: str | None, limit: int) -> dict[str, Any]:
        response = call(self.stub.ListJobs, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return {"object": "list", "data": [job_dict(j) for j in response.jobs], "has_more": response.has_more}

    def cancel(self, owner: str, job_id: str) -> dict[str, Any]:
        return job_dict(call(self.stub.CancelJob, pb.CancelJobRequest(owner=owner, job_id=job_id)))

    def events(self, owner: str, job_id: str, *, after_sequence: int, follow: bool) -> Iterator[dict[str, Any]]:
        return watch(self.stub.WatchJob, owner, job_id, after_sequence=after_sequence, follow=follow)

    def checkpoints(self, owner: str, job_id: str, *, after: str | None, limit: int) -> dict[str, Any]:
        response = call(
            self.stub.ListCheckpoints,
            pb.ListCheckpointsRequest(owner=owner, job_id=job_id, after=after or "", limit=limit),
        )
        data = [
            {
                "id": c.id,
                "object": "fine_tuning.job.checkpoint",
                "created_at": c.created_at,
                "fine_tuning_job_id": c.job_id,
                "step_number": c.step,
                "fine_tuned_model_checkpoint": c.fine_tuned_model_checkpoint,
                "metrics": json.loads(c.metrics_json or "{}"),
            }
            for c in response.checkpoints
        ]
        return {
            "object": "list",
            "data": data,
            "has_more": response.has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }


def watch(
    method: Any, owner: str, job_id: str, *, after_sequence: int, follow: bool, kind: str = "fine_tuning.job.event"
) -> Iterator[dict[str, Any]]:
    """A job's events from a Watch* RPC as dicts; errors come back typed."""
    request = pb.WatchJobRequest(owner=owner, job_id=job_id, after_sequence=after_sequence, follow=follow)
    try:
        for event in method(request, metadata=call_metadata()):
            yield event_dict(event, kind)
    except grpc.RpcError as exc:
        raise error_from_rpc(exc, service="trainer") from exc
