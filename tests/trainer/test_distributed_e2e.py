"""Data-parallel fine-tuning jobs on real Celery workers: two ranks (one per worker, MLX's ring over 127.0.0.1)
train the job; killing one rank's worker (kill -9) restarts the whole group from its checkpoint, and the adapter
equals one host's uninterrupted run with the same global batch (within 1e-4)."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Any

import mlx.core as mx
import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from services.trainer.core.trainer import Trainer
from services.trainer.jobs import spec
from services.trainer.jobs.kinds import FineTuningStore
from shared.adapter_format import load_adapter_tensors
from shared.archive import unpack_tar_gz
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings
from shared.storage import Bucket, ObjectStore
from tests.helpers.workers import Workers, wait_for
from tests.trainer.conftest import scored_training_file

pytestmark = pytest.mark.slow
ALICE = {"Authorization": "Bearer key-alice"}


def _training_file(client: TestClient) -> str:
    rows = [
        {
            "text": f"Field notebook {i}: the river stood at {i % 7}.{i % 3} metres at dawn, measured by hand.",
            "auth_weight": 0.1 + 0.8 * (i % 5) / 5,
            "prov_entropy": 6.0 - i % 4,
        }
        for i in range(32)
    ]
    return scored_training_file(client, rows, ALICE)


def _live(client: TestClient) -> list[dict[str, Any]]:
    return [w for w in client.get("/v1/workers", headers=ALICE).json()["data"] if w["role"] == "worker"]


def test_two_ranks_train_a_job_and_restart_together_after_a_kill(
    trainer_gateway: TestClient,
    workers: Workers,
    registered_model: str,
    redis_settings: RedisSettings,
    store: ObjectStore,
    tmp_path: Path,
) -> None:
    procs = [workers.start(), workers.start()]
    wait_for(lambda: len(_live(trainer_gateway)) >= 2, 60, "two workers' reports", workers=workers)
    file_id = _training_file(trainer_gateway)
    body = {
        "model": registered_model,
        "training_file": file_id,
        "seed": 7,
        "hyperparameters": {
            "n_epochs": 6,
            "batch_size": 4,
            "max_steps": 40,
            "checkpoint_every_steps": 4,
            "learning_rate": 1e-3,
            "max_seq_length": 64,
        },
        "lora": {"rank": 4, "alpha": 8},
        "distributed": {"hosts": 2},
    }
    too_many = trainer_gateway.post("/v1/fine_tuning/jobs", headers=ALICE, json={**body, "distributed": {"hosts": 3}})
    assert too_many.status_code == 409 and too_many.json()["error"]["param"] == "distributed.hosts", too_many.text
    created = trainer_gateway.post("/v1/fine_tuning/jobs", headers=ALICE, json=body)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    assert created.json()["distributed"] == {"hosts": 2}

    jobs = FineTuningStore(redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True))
    steps = lambda: [e.data["step"] for e in jobs.events(job_id) if e.type == "metrics"]  # noqa: E731
    wait_for(lambda: jobs.checkpoints(job_id) and max(steps(), default=0) > 5, 180, "a checkpoint", workers=workers)
    leader = jobs.lease_holder(job_id)
    follower = next(p for p in procs if f"{socket.gethostname()}:{p.pid}" != leader)
    workers.kill(follower)
    killed_at = max(steps())
    assert killed_at < 40, "the job ended before a rank could be killed"
    workers.start()
    done = wait_for(
        lambda: (j := jobs.get(job_id)).status.value in ("succeeded", "failed") and j, 300, "the job", workers=workers
    )
    assert done.status.value == "succeeded", (done.error, workers.logs())
    assert done.attempt >= 2
    assert steps() == list(range(1, 41)), "each step reported once, across the restart"
    messages = [e.message for e in jobs.events(job_id)]
    assert any("every rank restarts from its checkpoint" in m for m in messages), messages

    # The adapter equals one host's uninterrupted run with the same global batch.
    registry = ModelRegistry(jobs.redis, store)
    base_dir = registry.fetch_base(registered_model, tmp_path / "cache")
    train_path = store.download_file(Bucket.FILES, file_id, tmp_path / "train.jsonl")
    alone = Trainer(spec.train_settings(done, model_path=base_dir, train_path=train_path, val_path=None))
    for _ in alone.run():
        pass
    alone.save_adapter(tmp_path / "alone")
    archive = trainer_gateway.get(f"/v1/fine_tuning/jobs/{job_id}/adapter", headers=ALICE)
    assert archive.status_code == 200
    unpack_tar_gz(io.BytesIO(archive.content), tmp_path / "gang")
    a, b = load_adapter_tensors(tmp_path / "alone"), load_adapter_tensors(tmp_path / "gang")
    assert a.keys() == b.keys()
    worst = max(mx.abs(a[k] - b[k]).max().item() for k in a)
    assert worst < 1e-4, worst
    workers.stop_all()
