"""Job creation, refusal, cancel, listing and orphan recovery, against real Redis and S3 (no training here)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import redis as redis_lib

from services.trainer.jobs.kinds import FineTuningStore
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import JobRecord
from services.trainer.jobs.service import JobService
from shared.errors import FailedPrecondition, InvalidArgument, NotFound
from shared.files import FileService
from shared.jobs.reaper import requeue_orphans
from shared.jobs.records import JobStatus
from shared.model_registry import ModelRegistry
from shared.storage import ObjectStore

SCORED = "\n".join(
    json.dumps({"text": f"example {i}", "auth_weight": 0.1 * (i % 9), "prov_entropy": 5.0}) for i in range(8)
).encode()


@pytest.fixture
def queued() -> list[str]:
    return []


@pytest.fixture
def service(
    files_service: FileService, redis_client: redis_lib.Redis, store: ObjectStore, tmp_path: Path, queued: list[str]
) -> JobService:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 128}))
    registry = ModelRegistry(redis_client, store)
    registry.register_base("tiny", model)
    sources = ModelSources(registry, allow_local=True, allow_hub=False)
    return JobService(FineTuningStore(redis_client), files_service, sources, queued.append)


def _request(files: FileService, data: bytes = SCORED, **overrides: object) -> JobRecord:
    file_id = files.upload(owner="alice", filename="t.jsonl", purpose="fine-tune", stream=io.BytesIO(data)).id
    fields = {
        "owner": "alice",
        "model": "tiny",
        "training_file": file_id,
        "validation_file": None,
        "suffix": None,
        "seed": 1,
        "hyperparameters": {},
        "distrust": {"mode": "weighted"},
        "lora": {},
    }
    return JobRecord.model_validate({**fields, **overrides})


def test_create_queues_a_valid_job(service: JobService, files_service: FileService, queued: list[str]) -> None:
    job = service.create(_request(files_service, suffix="exp-1"))
    assert job.status == JobStatus.QUEUED and queued == [job.id]
    assert service.get("alice", job.id).model == "tiny"
    events = service.store.events(job.id)
    assert events[0].sequence == 1 and "Created" in events[0].message


def test_missing_scores_under_weighted_names_the_lines(
    service: JobService, files_service: FileService, queued: list[str]
) -> None:
    data = b'{"text": "a", "auth_weight": 0.1, "prov_entropy": 2}\n{"text": "b"}\n{"text": "c"}\n'
    with pytest.raises(InvalidArgument) as info:
        service.create(_request(files_service, data))
    assert info.value.param == "training_file" and "line 2" in info.value.message and "line 3" in info.value.message
    assert queued == []
    # The same file is fine without the distrust signal.
    assert service.create(_request(files_service, data, distrust={"mode": "none"})).status == JobStatus.QUEUED


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"hyperparameters": {"batch_size": 0}}, "hyperparameters.batch_size"),
        ({"hyperparameters": {"n_epochs": 0}}, "hyperparameters.n_epochs"),
        ({"distrust": {"mode": "weighted", "alpha": 3.5}}, "distrust.alpha"),
        ({"lora": {"rank": 0}}, "lora.rank"),
        ({"suffix": "no spaces allowed"}, "suffix"),
        ({"hyperparameters": {"checkpoint_every_steps": 0}}, "hyperparameters.checkpoint_every_steps"),
    ],
)
def test_invalid_settings_name_the_field(
    service: JobService, files_service: FileService, overrides: dict, param: str
) -> None:
    with pytest.raises(InvalidArgument) as info:
        service.create(_request(files_service, **overrides))
    assert info.value.param == param


def test_unknown_model_and_foreign_file(service: JobService, files_service: FileService) -> None:
    with pytest.raises(NotFound, match="available: tiny"):
        service.create(_request(files_service, model="gpt-5"))
    with pytest.raises(NotFound, match="DISTRUST_TRAINER_ALLOW_HUB_MODELS"):
        service.create(_request(files_service, model="mlx-community/Llama-3.2-1B-Instruct"))
    request = _request(files_service)
    with pytest.raises(InvalidArgument) as info:
        service.create(request.model_copy(update={"owner": "bob"}))
    assert info.value.param == "training_file"


def test_a_local_model_folder_is_accepted_when_allowed(
    service: JobService, files_service: FileService, tmp_path: Path
) -> None:
    folder = tmp_path / "local-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert service.create(_request(files_service, model=str(folder))).model == str(folder)
    with pytest.raises(InvalidArgument, match="no config.json"):
        service.create(_request(files_service, model=str(tmp_path)))
    service.sources.allow_local = False
    with pytest.raises(InvalidArgument, match="DISTRUST_TRAINER_ALLOW_LOCAL_MODELS"):
        service.create(_request(files_service, model=str(folder)))


def test_a_base_model_someone_else_exported_cannot_be_trained_on(
    service: JobService, files_service: FileService, tmp_path: Path
) -> None:
    folder = tmp_path / "bobs-export"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    service.sources.registry.register_base("bobs-fused", folder, owned_by="bob")
    with pytest.raises(NotFound) as info:
        service.create(_request(files_service, model="bobs-fused"))
    assert info.value.param == "model" and "available: tiny" in info.value.message
    assert "bobs-fused" not in info.value.message.split("available:")[1]  # nor listed to others
    bobs_file = files_service.upload(owner="bob", filename="t.jsonl", purpose="fine-tune", stream=io.BytesIO(SCORED))
    request = _request(files_service, model="bobs-fused", owner="bob", training_file=bobs_file.id)
    assert service.create(request).status == JobStatus.QUEUED


def test_cancel_and_listing(service: JobService, files_service: FileService) -> None:
    first = service.create(_request(files_service))
    second = service.create(_request(files_service))
    jobs, more = service.list("alice", after=None, limit=1)
    assert [j.id for j in jobs] == [second.id] and more
    jobs, more = service.list("alice", after=second.id, limit=10)
    assert [j.id for j in jobs] == [first.id] and not more
    assert service.list("bob", after=None, limit=10) == ([], False)
    cancelled = service.cancel("alice", first.id)
    assert cancelled.status == JobStatus.CANCELLING and service.store.cancel_requested(first.id)
    service.store.update(first.id, lambda j: setattr(j, "status", JobStatus.CANCELLED))
    with pytest.raises(FailedPrecondition):
        service.cancel("alice", first.id)
    with pytest.raises(NotFound):
        service.get("bob", second.id)


def test_reaper_requeues_a_running_job_whose_worker_died(
    service: JobService, files_service: FileService, queued: list[str]
) -> None:
    job = service.create(_request(files_service))
    queued.clear()
    service.store.update(job.id, lambda j: setattr(j, "status", JobStatus.RUNNING))
    assert service.store.acquire_lease(job.id, "worker-1", ttl_s=30)
    assert requeue_orphans(service.store, queued.append) == [] and queued == []
    service.store.release_lease(job.id, "worker-1")  # as if its TTL ran out after a kill -9
    assert requeue_orphans(service.store, queued.append) == [job.id] and queued == [job.id]
    assert service.get("alice", job.id).status == JobStatus.QUEUED
    assert "resumes from the start" in service.store.events(job.id)[-1].message


def test_reaper_ends_a_job_cancelled_before_it_started(
    service: JobService, files_service: FileService, queued: list[str]
) -> None:
    job = service.create(_request(files_service))
    queued.clear()
    assert service.cancel("alice", job.id).status == JobStatus.CANCELLING
    assert requeue_orphans(service.store, queued.append) == [] and queued == []
    assert service.get("alice", job.id).status == JobStatus.CANCELLED
    assert "before it started" in service.store.events(job.id)[-1].message
    assert requeue_orphans(service.store, queued.append) == []  # and it stays that way


def test_lease_is_exclusive(service: JobService) -> None:
    assert service.store.acquire_lease("ftjob-x", "a", ttl_s=30)
    assert not service.store.acquire_lease("ftjob-x", "b", ttl_s=30)
    assert not service.store.renew_lease("ftjob-x", "b", ttl_s=30)
    assert service.store.renew_lease("ftjob-x", "a", ttl_s=30)


def test_pause_and_resume_a_queued_job(service: JobService, files_service: FileService, queued: list[str]) -> None:
    job = service.create(_request(files_service))
    queued.clear()
    paused = service.pause("alice", job.id)
    assert paused.status == JobStatus.PAUSED and service.store.pause_requested(job.id)
    assert service.store.events(job.id)[-1].status == JobStatus.PAUSED
    assert requeue_orphans(service.store, queued.append) == []  # a paused job is nobody's orphan
    with pytest.raises(FailedPrecondition) as twice:
        service.pause("alice", job.id)
    assert twice.value.code == "job_not_pausable" and "paused" in twice.value.message
    with pytest.raises(NotFound):
        service.resume("bob", job.id)
    resumed = service.resume("alice", job.id)
    assert resumed.status == JobStatus.QUEUED and queued == [job.id] and not service.store.pause_requested(job.id)
    assert "continues from the start" in service.store.events(job.id)[-1].message
    with pytest.raises(FailedPrecondition) as not_paused:
        service.resume("alice", job.id)
    assert not_paused.value.code == "job_not_paused"


def test_pause_of_a_running_job_waits_for_its_worker(
    service: JobService, files_service: FileService, queued: list[str]
) -> None:
    job = service.create(_request(files_service))
    queued.clear()
    service.store.update(job.id, lambda j: setattr(j, "status", JobStatus.RUNNING))
    assert service.store.acquire_lease(job.id, "worker-1", ttl_s=30)
    pausing = service.pause("alice", job.id)
    assert pausing.status == JobStatus.RUNNING and service.store.pause_requested(job.id)
    assert "Pause requested" in service.store.events(job.id)[-1].message
    withdrawn = service.resume("alice", job.id)  # before the worker stopped: the request is taken back
    assert withdrawn.status == JobStatus.RUNNING and queued == [] and not service.store.pause_requested(job.id)
    service.pause("alice", job.id)
    assert service.store.mark_paused(job.id, "Job paused at step 3").status == JobStatus.PAUSED


def test_cancel_of_a_paused_job_ends_it_at_once(service: JobService, files_service: FileService) -> None:
    job = service.create(_request(files_service))
    service.pause("alice", job.id)
    cancelled = service.cancel("alice", job.id)
    assert cancelled.status == JobStatus.CANCELLED and cancelled.finished_at is not None
    assert "while paused" in service.store.events(job.id)[-1].message
    assert job.id not in service.store.active_ids()
    with pytest.raises(FailedPrecondition):
        service.pause("alice", job.id)
