"""Fine-tuning jobs end to end: HTTP → gateway → trainer service → Celery worker processes → MLX → storage."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import mlx.core as mx
import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from services.trainer.core.trainer import Trainer
from services.trainer.jobs import spec
from services.trainer.jobs.kinds import FineTuningStore
from services.trainer.jobs.records import JobRecord
from shared.adapter_format import ADAPTER_FILES, load_adapter_tensors, read_adapter_config
from shared.jobs.records import JobStatus
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings
from shared.storage import Bucket, ObjectStore
from tests.helpers.workers import Workers, wait_for

pytestmark = pytest.mark.slow
HEADERS = {"Authorization": "Bearer key-alice"}


def _records(n: int) -> bytes:
    rows = []
    for i in range(n):
        low = i % 2 == 0
        rows.append(
            {
                "text": (
                    "Letter from the field notebook, day %d: measured the river at dawn."
                    if low
                    else "Officials agree the consensus is settled, item %d, says the agency."
                )
                % i,
                "auth_weight": 0.1 if low else 0.85,
                "prov_entropy": 7.0 if low else 1.5,
            }
        )
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n"


@pytest.fixture(scope="module")
def client(trainer_gateway: TestClient) -> TestClient:
    return trainer_gateway


@pytest.fixture(scope="module")
def store_and_jobs(redis_settings: RedisSettings, store: ObjectStore) -> tuple[ObjectStore, FineTuningStore]:
    return store, FineTuningStore(
        redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    )


def _upload(client: TestClient, data: bytes) -> str:
    response = client.post(
        "/v1/files", headers=HEADERS, data={"purpose": "fine-tune"}, files={"file": ("train.jsonl", data)}
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _steps(jobs: FineTuningStore, job_id: str) -> list[int]:
    return [e.data["step"] for e in jobs.events(job_id) if e.type == "metrics"]


def test_job_survives_a_killed_worker_and_matches_an_uninterrupted_run(
    client: TestClient,
    workers: Workers,
    store_and_jobs: tuple[ObjectStore, FineTuningStore],
    registered_model: str,
    redis_settings: RedisSettings,
    tmp_path: Path,
) -> None:
    store, jobs = store_and_jobs
    file_id = _upload(client, _records(64))
    body = {
        "model": registered_model,
        "training_file": file_id,
        "seed": 7,
        "suffix": "resume",
        "hyperparameters": {
            "n_epochs": 20,
            "batch_size": 4,
            "max_steps": 80,
            "checkpoint_every_steps": 10,
            "learning_rate": 1e-3,
            "max_seq_length": 64,
        },
        "lora": {"rank": 4, "alpha": 8},
    }
    created = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=body)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    assert created.json()["status"] == "queued" and created.json()["object"] == "fine_tuning.job"

    first = workers.start()
    wait_for(
        lambda: jobs.checkpoints(job_id) and max(_steps(jobs, job_id), default=0) > 10,
        120,
        "the first checkpoint",
        poll_s=0.02,
    )
    workers.kill(first)
    killed_at = max(_steps(jobs, job_id))
    assert killed_at < 80, "the job finished before the worker could be killed"
    assert jobs.get(job_id).status == JobStatus.RUNNING

    workers.start()
    job = wait_for(
        lambda: (j := jobs.get(job_id)).status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and j,
        180,
        "the resumed job to finish",
        workers=workers,
    )
    assert job.status == JobStatus.SUCCEEDED, (job.error, workers.logs())

    events = jobs.events(job_id)
    resumed = [e for e in events if e.message.startswith("Resumed from checkpoint")]
    assert len(resumed) == 1
    resume_step = resumed[0].data["step"]
    assert resume_step <= killed_at
    steps = [e.data["step"] for e in events if e.type == "metrics"]
    assert steps == list(range(1, 81)), "each step reported once, in order, across the kill and the resume"
    assert jobs.get(job_id).trained_tokens == sum(e.data["tokens"] for e in events if e.type == "metrics")
    assert any("worker running this job stopped" in e.message for e in events)

    # The resumed job's adapter equals that of the same job trained without interruption.
    record = ModelRegistry(jobs.redis, store).get_adapter(job.fine_tuned_model, owner="alice")
    base_dir = ModelRegistry(jobs.redis, store).fetch_base(registered_model, tmp_path / "cache")
    train_path = store.download_file(Bucket.FILES, file_id, tmp_path / "train.jsonl")
    straight = Trainer(spec.train_settings(job, model_path=base_dir, train_path=train_path, val_path=None))
    for _ in straight.run():
        pass
    straight.save_adapter(tmp_path / "straight")
    resumed_dir = tmp_path / "resumed"
    response = client.get(f"/v1/fine_tuning/jobs/{job_id}/adapter", headers=HEADERS)
    assert response.status_code == 200 and response.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        names = sorted(Path(m.name).name for m in tar.getmembers())
    assert names == sorted(ADAPTER_FILES)
    from shared.archive import unpack_tar_gz

    unpack_tar_gz(io.BytesIO(response.content), resumed_dir)
    a = load_adapter_tensors(tmp_path / "straight")
    b = load_adapter_tensors(resumed_dir)
    config_a, config_b = read_adapter_config(tmp_path / "straight"), read_adapter_config(resumed_dir)
    assert config_b.model_copy(update={"model": None}) == config_a.model_copy(update={"model": None})
    assert config_b.trained_steps == 80 and config_b.distrust is not None
    assert a.keys() == b.keys() and record.files
    for key in a:
        assert mx.allclose(a[key], b[key], atol=1e-5).item(), key

    # The adapter loads in mlx-lm, unchanged.
    from mlx_lm import load

    model, tokenizer = load(str(base_dir), adapter_path=str(resumed_dir))
    assert model is not None and tokenizer is not None

    # HTTP views of the finished job.
    job_view = client.get(f"/v1/fine_tuning/jobs/{job_id}", headers=HEADERS).json()
    assert job_view["status"] == "succeeded" and job_view["fine_tuned_model"].startswith(
        f"ft:{registered_model}:resume:"
    )
    checkpoints = client.get(f"/v1/fine_tuning/jobs/{job_id}/checkpoints", headers=HEADERS).json()
    assert [c["step_number"] for c in checkpoints["data"]] == sorted(
        {c.step for c in jobs.checkpoints(job_id)}, reverse=True
    )[:10]
    listed = client.get(f"/v1/fine_tuning/jobs/{job_id}/events", headers={**HEADERS}, params={"limit": 5}).json()
    assert len(listed["data"]) == 5 and listed["data"][0]["status"] == "succeeded" and listed["has_more"]
    with client.stream(
        "GET", f"/v1/fine_tuning/jobs/{job_id}/events", headers=HEADERS, params={"stream": "true"}
    ) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]" and len(lines) == len(events) + 1
    assert client.get(f"/v1/fine_tuning/jobs/{job_id}", headers={"Authorization": "Bearer key-bob"}).status_code == 404


def test_cancel_stops_within_a_step_and_keeps_the_checkpoint(
    client: TestClient, workers: Workers, store_and_jobs: tuple[ObjectStore, FineTuningStore], registered_model: str
) -> None:
    _, jobs = store_and_jobs
    if not any(p.poll() is None for p in workers.procs):
        workers.start()
    body = {
        "model": registered_model,
        "training_file": _upload(client, _records(32)),
        "seed": 1,
        "hyperparameters": {"n_epochs": 1000, "batch_size": 4, "checkpoint_every_steps": 5, "max_seq_length": 64},
    }
    job_id = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=body).json()["id"]
    wait_for(lambda: max(_steps(jobs, job_id), default=0) >= 7, 120, "training to start")
    cancelled = client.post(f"/v1/fine_tuning/jobs/{job_id}/cancel", headers=HEADERS)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelling"
    job = wait_for(lambda: (j := jobs.get(job_id)).status == JobStatus.CANCELLED and j, 30, "the cancel")
    assert job.step < job.total_steps
    assert jobs.checkpoints(job_id)[-1].step == job.step  # the last step done is kept
    again = client.post(f"/v1/fine_tuning/jobs/{job_id}/cancel", headers=HEADERS)
    assert again.status_code == 409


def test_pause_stops_with_a_checkpoint_and_resume_continues_from_it(
    client: TestClient, workers: Workers, store_and_jobs: tuple[ObjectStore, FineTuningStore], registered_model: str
) -> None:
    _, jobs = store_and_jobs
    if not any(p.poll() is None for p in workers.procs):
        workers.start()
    body = {
        "model": registered_model,
        "training_file": _upload(client, _records(32)),
        "seed": 3,
        "hyperparameters": {"n_epochs": 100, "batch_size": 4, "max_steps": 40, "checkpoint_every_steps": 50},
        "alias": "pausebot",
    }
    job_id = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=body).json()["id"]
    wait_for(lambda: max(_steps(jobs, job_id), default=0) >= 5, 120, "training to start")
    pausing = client.post(f"/v1/fine_tuning/jobs/{job_id}/pause", headers=HEADERS)
    assert pausing.status_code == 200 and pausing.json()["status"] in ("running", "paused"), pausing.text
    job = wait_for(lambda: (j := jobs.get(job_id)).status == JobStatus.PAUSED and j, 30, "the pause")
    assert 5 <= job.step < 40 and jobs.checkpoints(job_id)[-1].step == job.step  # written on pausing
    assert jobs.lease_holder(job_id) is None  # no worker is held by a paused job
    again = client.post(f"/v1/fine_tuning/jobs/{job_id}/pause", headers=HEADERS)
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_pausable"
    assert client.get(f"/v1/fine_tuning/jobs/{job_id}", headers=HEADERS).json()["status"] == "paused"

    resumed = client.post(f"/v1/fine_tuning/jobs/{job_id}/resume", headers=HEADERS)
    assert resumed.status_code == 200 and resumed.json()["status"] == "queued", resumed.text
    done = wait_for(lambda: (j := jobs.get(job_id)).status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and j, 120, "it")
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert _steps(jobs, job_id) == list(range(1, 41)), "each step once, across the pause"
    restored = [e for e in jobs.events(job_id) if e.message.startswith("Resumed from checkpoint")]
    assert [e.data["step"] for e in restored] == [job.step]
    finished = client.post(f"/v1/fine_tuning/jobs/{job_id}/resume", headers=HEADERS)
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "job_not_paused"

    # The job's alias moved to its model on success; a job on the alias continues that model's adapter.
    alias = client.get("/v1/aliases/pausebot", headers=HEADERS).json()
    assert alias["model"] == done.fine_tuned_model and alias["history"][0]["job_id"] == job_id
    assert (
        alias["history"][0]["reason"] == "job"
        and client.get(f"/v1/fine_tuning/jobs/{job_id}", headers=HEADERS).json()["alias"] == "pausebot"
    )
    follow_up = client.post(
        "/v1/fine_tuning/jobs",
        headers=HEADERS,
        json={**body, "model": "ft:alias:pausebot", "alias": "ft:alias:pausebot"},
    )
    assert follow_up.status_code == 200, follow_up.text
    assert follow_up.json()["model"] == done.fine_tuned_model and follow_up.json()["alias"] == "pausebot"
    client.post(f"/v1/fine_tuning/jobs/{follow_up.json()['id']}/cancel", headers=HEADERS)
    bad = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json={**body, "alias": "no spaces"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "alias"
    unknown = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json={**body, "model": "ft:alias:nobody"})
    assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "model"


def test_refused_requests(client: TestClient, registered_model: str) -> None:
    unscored = _upload(client, b'{"text": "no scores here"}\n')
    response = client.post(
        "/v1/fine_tuning/jobs", headers=HEADERS, json={"model": registered_model, "training_file": unscored}
    )
    assert response.status_code == 400 and "line 1" in response.json()["error"]["message"]
    response = client.post(
        "/v1/fine_tuning/jobs",
        headers=HEADERS,
        json={
            "model": registered_model,
            "training_file": unscored,
            "hyperparameters": {"batch_size": 0},
            "distrust": {"mode": "none"},
        },
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "hyperparameters.batch_size"
    response = client.post(
        "/v1/fine_tuning/jobs",
        headers=HEADERS,
        json={"model": "no-such-model", "training_file": unscored, "distrust": {"mode": "none"}},
    )
    assert response.status_code == 404 and response.json()["error"]["param"] == "model"
    response = client.post(
        "/v1/fine_tuning/jobs",
        headers=HEADERS,
        json={"model": registered_model, "training_file": unscored, "distrust": {"mode": "sometimes"}},
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "distrust.mode"
    huge = client.post(
        "/v1/fine_tuning/jobs",
        headers=HEADERS,
        json={
            "model": registered_model,
            "training_file": unscored,
            "distrust": {"mode": "none"},
            "hyperparameters": {"batch_size": 1024, "max_seq_length": 32768},
        },
    )
    assert huge.status_code == 400 and "budget" in huge.json()["error"]["message"]


def _pairs(n: int) -> bytes:
    rows = [
        {
            "input": {"messages": [{"role": "user", "content": f"Who recorded the flood of day {i}?"}]},
            "preferred_output": [{"role": "assistant", "content": f"The keeper's logbook, day {i}, at the gauge."}],
            "non_preferred_output": [{"role": "assistant", "content": "Officials say the consensus is settled."}],
            "metadata": {"margin": 0.5 + (i % 3)},
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n"


def test_dpo_job_survives_a_killed_worker_and_matches_an_uninterrupted_run(
    client: TestClient,
    workers: Workers,
    store_and_jobs: tuple[ObjectStore, FineTuningStore],
    registered_model: str,
    tmp_path: Path,
) -> None:
    store, jobs = store_and_jobs
    if not any(p.poll() is None for p in workers.procs):
        workers.start()
    file_id, val_id = _upload(client, _pairs(24)), _upload(client, _pairs(4))
    hyperparameters = {"n_epochs": 10, "batch_size": 4, "max_steps": 40, "checkpoint_every_steps": 8}
    body = {
        "model": registered_model,
        "training_file": file_id,
        "validation_file": val_id,
        "seed": 5,
        "suffix": "dpo",
        "method": {"type": "dpo", "dpo": {"hyperparameters": {**hyperparameters, "beta": 0.5}}},
        "preference": {"weight_by_margin": True},
        "lora": {"rank": 4, "alpha": 8},
    }
    created = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=body)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    wait_for(lambda: max(_steps(jobs, job_id), default=0) > 9, 120, "the first checkpoint", poll_s=0.02)
    workers.kill(next(p for p in workers.procs if p.poll() is None))
    killed_at = max(_steps(jobs, job_id))
    assert killed_at < 40, "the job finished before the worker could be killed"
    workers.start()
    job = wait_for(
        lambda: (j := jobs.get(job_id)).status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and j,
        180,
        "the resumed DPO job to finish",
        workers=workers,
    )
    assert job.status == JobStatus.SUCCEEDED, (job.error, workers.logs())
    events = jobs.events(job_id)
    metrics = [e.data for e in events if e.type == "metrics"]
    assert [m["step"] for m in metrics] == list(range(1, 41))
    assert all(0 <= m["reward_accuracy"] <= 1 and m["chosen_logp"] < 0 for m in metrics)
    assert metrics[-1]["val_reward_accuracy"] is not None and metrics[-1]["reward_margin"] > metrics[0]["reward_margin"]
    assert any(e.message.startswith("Resumed from checkpoint") for e in events)
    assert "reference.npz" in jobs.checkpoints(job_id)[-1].files

    from services.trainer.core.preference_trainer import PreferenceTrainer

    base_dir = ModelRegistry(jobs.redis, store).fetch_base(registered_model, tmp_path / "cache")
    paths = {
        name: store.download_file(Bucket.FILES, f, tmp_path / f"{name}.jsonl")
        for name, f in (("t", file_id), ("v", val_id))
    }
    settings = spec.train_settings(job, model_path=base_dir, train_path=paths["t"], val_path=paths["v"])
    straight = PreferenceTrainer(settings, job.preference)
    for _ in straight.run():
        pass
    straight.save_adapter(tmp_path / "straight")
    response = client.get(f"/v1/fine_tuning/jobs/{job_id}/adapter", headers=HEADERS)
    from shared.archive import unpack_tar_gz

    unpack_tar_gz(io.BytesIO(response.content), tmp_path / "resumed")
    a, b = load_adapter_tensors(tmp_path / "straight"), load_adapter_tensors(tmp_path / "resumed")
    assert a.keys() == b.keys()
    for key in a:
        assert mx.allclose(a[key], b[key], atol=1e-5).item(), key
    view = client.get(f"/v1/fine_tuning/jobs/{job_id}", headers=HEADERS).json()
    assert view["method"]["dpo"]["hyperparameters"]["beta"] == 0.5 and view["fine_tuned_model"].startswith("ft:")


def test_a_dpo_job_continues_an_sft_jobs_model(
    client: TestClient, workers: Workers, store_and_jobs: tuple[ObjectStore, FineTuningStore], registered_model: str
) -> None:
    store, jobs = store_and_jobs
    if not any(p.poll() is None for p in workers.procs):
        workers.start()

    def finished(job_id: str) -> JobRecord:
        job = wait_for(
            lambda: (j := jobs.get(job_id)).status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and j,
            120,
            f"job {job_id}",
            workers=workers,
        )
        assert job.status == JobStatus.SUCCEEDED, (job.error, workers.logs())
        return job

    sft_body = {
        "model": registered_model,
        "training_file": _upload(client, _records(8)),
        "hyperparameters": {"max_steps": 4, "batch_size": 2, "max_seq_length": 64},
        "lora": {"rank": 4, "alpha": 8, "layers": 1},
    }
    sft = finished(client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=sft_body).json()["id"])
    assert sft.fine_tuned_model is not None
    pairs = _upload(client, _pairs(8))
    dpo_body = {
        "model": sft.fine_tuned_model,
        "training_file": pairs,
        "method": {"type": "dpo", "dpo": {"hyperparameters": {"max_steps": 4, "batch_size": 2}}},
    }
    refused = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json={**dpo_body, "lora": {"rank": 16}})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "lora", refused.text
    created = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=dpo_body)
    assert created.status_code == 200, created.text
    assert created.json()["model"] == sft.fine_tuned_model and created.json()["lora"]["layers"] == 1
    dpo = finished(created.json()["id"])
    assert dpo.fine_tuned_model is not None and dpo.fine_tuned_model.startswith(f"ft:{registered_model}:distrust:")
    registry = ModelRegistry(jobs.redis, store)
    assert registry.get_adapter(dpo.fine_tuned_model, owner="alice").base_model == registered_model
    config = registry.adapter_config(registry.get_adapter(dpo.fine_tuned_model, owner="alice"))
    assert config.num_layers == 1 and config.lora().rank == 4
    foreign = client.post(
        "/v1/fine_tuning/jobs", headers={"Authorization": "Bearer key-bob"}, json={**dpo_body, "training_file": pairs}
    )
    assert foreign.status_code == 404 and foreign.json()["error"]["param"] == "model"
