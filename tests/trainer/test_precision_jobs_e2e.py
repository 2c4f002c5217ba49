"""QLoRA / bfloat16 jobs and a diverging job end to end on the tiny model: HTTP → trainer → Celery worker → MLX."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from services.trainer.jobs.kinds import FineTuningStore
from services.trainer.jobs.records import JobRecord
from shared.jobs.records import JobStatus
from shared.settings import RedisSettings
from tests.helpers.workers import Workers, wait_for

pytestmark = pytest.mark.slow
HEADERS = {"Authorization": "Bearer key-alice"}


def _records(n: int) -> bytes:
    rows = [
        {"text": f"Field notebook, day {i}: the river at dawn.", "auth_weight": 0.2, "prov_entropy": 6.0}
        for i in range(n)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n"


@pytest.fixture(scope="module")
def client(trainer_gateway: TestClient) -> TestClient:
    return trainer_gateway


@pytest.fixture(scope="module")
def jobs(redis_settings: RedisSettings) -> FineTuningStore:
    return FineTuningStore(redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True))


def _run(client: TestClient, jobs: FineTuningStore, workers: Workers, model: str, hp: dict[str, Any]) -> JobRecord:
    upload = client.post(
        "/v1/files", headers=HEADERS, data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", _records(16))}
    )
    assert upload.status_code == 200, upload.text
    body = {"model": model, "training_file": upload.json()["id"], "hyperparameters": hp, "lora": {"rank": 4}}
    created = client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=body)
    assert created.status_code == 200, created.text
    assert {k: created.json()["hyperparameters"][k] for k in hp} == hp  # echoed as given
    if not any(p.poll() is None for p in workers.procs):
        workers.start()
    job_id = created.json()["id"]
    done = (JobStatus.SUCCEEDED, JobStatus.FAILED)
    wait_for(lambda: jobs.get_owned(job_id, "alice").status in done, 180, "the job to end", workers=workers)
    return jobs.get_owned(job_id, "alice")


@pytest.mark.parametrize(
    "holding",
    [{"precision": "bfloat16"}, {"quantize_base": 4, "gradient_checkpointing": True}],
    ids=["bfloat16", "qlora-4bit-checkpointed"],
)
def test_a_job_trains_in_each_precision(
    holding: dict[str, Any], client: TestClient, jobs: FineTuningStore, workers: Workers, registered_model: str
) -> None:
    hp = {"max_steps": 3, "batch_size": 2, "max_seq_length": 32, **holding}
    job = _run(client, jobs, workers, registered_model, hp)
    assert job.status == JobStatus.SUCCEEDED, (job.error, workers.logs())
    metrics = [e.data for e in jobs.events(job.id) if e.type == "metrics"]
    assert [m["step"] for m in metrics] == [1, 2, 3]
    for m in metrics:
        assert m["grad_norm"] > 0 and 0 < m["active_memory_gb"] <= m["peak_memory_gb"]


def test_a_diverging_job_fails_clearly_and_keeps_its_good_checkpoints(
    client: TestClient, jobs: FineTuningStore, workers: Workers, registered_model: str
) -> None:
    # float16 with no clipping and a learning rate of 1 overflows to inf within a few steps
    hp = {
        "n_epochs": 50,
        "batch_size": 2,
        "max_seq_length": 32,
        "learning_rate": 1.0,
        "max_grad_norm": 0.0,
        "precision": "float16",
        "checkpoint_every_steps": 1,
    }
    job = _run(client, jobs, workers, registered_model, hp)
    assert job.status == JobStatus.FAILED and job.error is not None
    assert job.error.code == "loss_not_finite" and "learning rate" in job.error.message, job.error
    steps = [e.data["step"] for e in jobs.events(job.id) if e.type == "metrics"]
    assert steps and [c.step for c in jobs.checkpoints(job.id)] == steps  # the diverged step is neither
