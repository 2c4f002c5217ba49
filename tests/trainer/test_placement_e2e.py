"""Placement by memory on real Celery workers: a job is only delivered to a worker whose budget holds its
estimate, `GET /v1/workers` shows each worker's tiers and load, and a job no worker can hold is refused."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.trainer.system.placement import BASE_QUEUE
from shared.settings import RedisSettings, StorageSettings
from tests.helpers.gateway import gateway_client
from tests.helpers.workers import Workers, wait_for

pytestmark = pytest.mark.slow
ALICE = {"Authorization": "Bearer key-alice"}


@pytest.fixture(scope="module")
def gateway(
    storage_settings: StorageSettings, redis_settings: RedisSettings, trainer_target: str
) -> Iterator[TestClient]:
    with gateway_client(storage_settings, redis_settings, trainer_target=trainer_target) as client:
        yield client


def _training_file(client: TestClient) -> str:
    rows = [
        {"text": f"Notebook, day {i}: the river at dawn.", "auth_weight": 0.2, "prov_entropy": 6.0} for i in range(24)
    ]
    data = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    response = client.post("/v1/files", headers=ALICE, data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", data)})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _worker(client: TestClient, pid: int) -> dict[str, Any] | None:
    listed = client.get("/v1/workers", headers=ALICE).json()["data"]
    return next((w for w in listed if w["id"] == f"{socket.gethostname()}:{pid}"), None)


def test_a_job_only_reaches_a_worker_whose_budget_holds_it(
    gateway: TestClient, workers: Workers, registered_model: str
) -> None:
    body = {
        "model": registered_model,
        "training_file": _training_file(gateway),
        "seed": 2,
        "hyperparameters": {"n_epochs": 3, "batch_size": 4, "max_seq_length": 64},
    }
    created = gateway.post("/v1/fine_tuning/jobs", headers=ALICE, json=body)
    assert created.status_code == 200, created.text
    job = created.json()
    estimate = job["memory_estimate_bytes"]
    assert estimate > 0 and job["queue"].startswith(f"{BASE_QUEUE}.mem-"), job

    small = workers.start(DISTRUST_TRAINER_MEMORY_BUDGET_GB=f"{estimate / 2 / 1e9:.6f}")
    seen_small = wait_for(lambda: _worker(gateway, small.pid), 60, "the small worker's report", workers=workers)
    assert job["queue"] not in seen_small["queues"] and BASE_QUEUE in seen_small["queues"], seen_small
    time.sleep(6)  # the small worker polls its queues; the job must stay where it is
    assert gateway.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALICE).json()["status"] == "queued"

    big_budget = max(4 * estimate, 2e9)
    big = workers.start(DISTRUST_TRAINER_MEMORY_BUDGET_GB=f"{big_budget / 1e9:.6f}")
    loads: set[str | None] = set()

    def finished() -> dict[str, Any] | None:
        seen = _worker(gateway, big.pid)
        if seen is not None:
            loads.add(seen["current_job"])
        current = gateway.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALICE).json()
        return current if current["status"] in ("succeeded", "failed") else None

    done = wait_for(finished, 180, "the job on the big worker", poll_s=0.1, workers=workers)
    assert done["status"] == "succeeded", workers.logs()
    events = gateway.get(f"/v1/fine_tuning/jobs/{job['id']}/events", headers=ALICE, params={"limit": 200}).json()
    started = [e for e in events["data"] if e["status"] == "running"]
    assert {e["data"]["worker"] for e in started} == {f"{socket.gethostname()}:{big.pid}"}
    assert job["id"] in loads, loads  # GET /v1/workers showed the job as the big worker's load

    huge = {**body, "hyperparameters": {"batch_size": 512, "max_seq_length": 65536}}
    refused = gateway.post("/v1/fine_tuning/jobs", headers=ALICE, json=huge)
    message = refused.json()["error"]["message"]  # refused against the roomiest live worker's budget
    roomiest = max(w["budget_bytes"] for w in gateway.get("/v1/workers", headers=ALICE).json()["data"])
    assert roomiest >= big_budget - 1e6  # (reports of other tests' killed workers may linger for three heartbeats)
    assert refused.status_code == 400 and f"memory budget is {roomiest / 1e9:.2f} GB" in message, refused.text
    workers.stop_all()
