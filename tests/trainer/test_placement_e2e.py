"""Placement by memory on real Celery workers: a job is only delivered to a worker whose budget holds its
estimate, `GET /v1/workers` shows each worker's tiers and load, and a job no worker can hold is refused."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.trainer.system.placement import BASE_QUEUE
from tests.helpers.workers import Workers, wait_for
from tests.trainer.conftest import scored_training_file

pytestmark = pytest.mark.slow
ALICE = {"Authorization": "Bearer key-alice"}


def _training_file(client: TestClient) -> str:
    rows = [
        {"text": f"Notebook, day {i}: the river at dawn.", "auth_weight": 0.2, "prov_entropy": 6.0} for i in range(24)
    ]
    return scored_training_file(client, rows, ALICE)


def _worker(client: TestClient, pid: int) -> dict[str, Any] | None:
    listed = client.get("/v1/workers", headers=ALICE).json()["data"]
    return next((w for w in listed if w["id"] == f"{socket.gethostname()}:{pid}"), None)


def test_a_job_only_reaches_a_worker_whose_budget_holds_it(
    trainer_gateway: TestClient, workers: Workers, registered_model: str
) -> None:
    body = {
        "model": registered_model,
        "training_file": _training_file(trainer_gateway),
        "seed": 2,
        "hyperparameters": {"n_epochs": 3, "batch_size": 4, "max_seq_length": 64},
    }
    created = trainer_gateway.post("/v1/fine_tuning/jobs", headers=ALICE, json=body)
    assert created.status_code == 200, created.text
    job = created.json()
    estimate = job["memory_estimate_bytes"]
    assert estimate > 0 and job["queue"].startswith(f"{BASE_QUEUE}.mem-"), job

    small = workers.start(DISTRUST_TRAINER_MEMORY_BUDGET_GB=f"{estimate / 2 / 1e9:.6f}")
    seen_small = wait_for(lambda: _worker(trainer_gateway, small.pid), 60, "the small worker's report", workers=workers)
    assert job["queue"] not in seen_small["queues"] and BASE_QUEUE in seen_small["queues"], seen_small
    time.sleep(6)  # the small worker polls its queues; the job must stay where it is
    assert trainer_gateway.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALICE).json()["status"] == "queued"

    big_budget = max(4 * estimate, 2e9)
    big = workers.start(DISTRUST_TRAINER_MEMORY_BUDGET_GB=f"{big_budget / 1e9:.6f}")
    loads: set[str | None] = set()

    def finished() -> dict[str, Any] | None:
        seen = _worker(trainer_gateway, big.pid)
        if seen is not None:
            loads.add(seen["current_job"])
        current = trainer_gateway.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALICE).json()
        return current if current["status"] in ("succeeded", "failed") else None

    done = wait_for(finished, 180, "the job on the big worker", poll_s=0.1, workers=workers)
    assert done["status"] == "succeeded", workers.logs()
    events = trainer_gateway.get(
        f"/v1/fine_tuning/jobs/{job['id']}/events", headers=ALICE, params={"limit": 200}
    ).json()
    started = [e for e in events["data"] if e["status"] == "running"]
    assert {e["data"]["worker"] for e in started} == {f"{socket.gethostname()}:{big.pid}"}
    assert job["id"] in loads, loads  # GET /v1/workers showed the job as the big worker's load

    huge = {**body, "hyperparameters": {"batch_size": 512, "max_seq_length": 65536}}
    refused = trainer_gateway.post("/v1/fine_tuning/jobs", headers=ALICE, json=huge)
    message = refused.json()["error"]["message"]  # refused against the roomiest live worker's budget
    roomiest = max(w["budget_bytes"] for w in trainer_gateway.get("/v1/workers", headers=ALICE).json()["data"])
    assert roomiest >= big_budget - 1e6  # (reports of other tests' killed workers may linger for three heartbeats)
    assert refused.status_code == 400 and f"memory budget is {roomiest / 1e9:.2f} GB" in message, refused.text
    workers.stop_all()
