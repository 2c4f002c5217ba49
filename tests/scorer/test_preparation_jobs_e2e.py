"""Preparation jobs survive what kills processes: a gateway restart, and a kill -9 of the scorer worker.

Real processes throughout: a scorer server with its reaper, Celery scorer workers, a uvicorn gateway, Redis and
S3. The workers pause after each progress event (a test-only setting), so a job has a middle to interrupt.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis as redis_lib

from services.gateway.scorer_client import ScorerClient
from services.scorer.config import ScorerSettings
from services.scorer.jobs import PREPARATION
from services.scorer.server import start
from shared.files import FileService
from shared.jobs.records import JobStatus
from shared.jobs.store import JobStore
from shared.rpc.client import open_channel
from shared.schemas.preparation import PreparationInput, PreparationOptions, PreparationRecord
from shared.settings import RedisSettings, StorageSettings
from tests.helpers.host import REPO, free_port
from tests.helpers.workers import Workers, wait_for

pytestmark = pytest.mark.slow

LEASE_TTL_S = 3
LINES = 3000


@pytest.fixture
def env(redis_settings: RedisSettings, storage_settings: StorageSettings) -> dict[str, str]:
    s = storage_settings
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "DISTRUST_REDIS_URL": redis_settings.url.get_secret_value(),
        "DISTRUST_STORAGE_ENDPOINT": s.endpoint,
        "DISTRUST_STORAGE_ACCESS_KEY": s.access_key.get_secret_value(),
        "DISTRUST_STORAGE_SECRET_KEY": s.secret_key.get_secret_value(),
        "DISTRUST_STORAGE_BUCKET_PREFIX": s.bucket_prefix,
        "DISTRUST_SCORER_LEASE_TTL_S": str(LEASE_TTL_S),
        "DISTRUST_SCORER_PROGRESS_DELAY_S": "0.5",
    }


@pytest.fixture
def scorer_target(
    redis_settings: RedisSettings, storage_settings: StorageSettings, redis_client: redis_lib.Redis
) -> Iterator[str]:
    """A scorer server queueing through Celery, its reaper checking every half second."""
    settings = ScorerSettings(
        host="127.0.0.1",
        port=0,
        storage=storage_settings,
        redis=redis_settings,
        lease_ttl_s=LEASE_TTL_S,
        reaper_interval_s=0.5,
    )
    running = start(settings)
    yield f"127.0.0.1:{running.port}"
    running.stop(0)


@pytest.fixture
def processes(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(env, tmp_path, app="services.scorer.worker", queue="preparation")
    yield pool
    pool.stop_all()


def _raw_lines() -> bytes:
    rows = [
        {"text": f"Original letters and field notes from 18{i % 100:02d}, lab notebook entry {i}, observed by hand."}
        if i % 2
        else {"text": f"The WHO said officials agree, according to experts at the agency, item {i} (2021)."}
        for i in range(LINES)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode()


def _mid_way(job: PreparationRecord | dict[str, object]) -> bool:
    data = job if isinstance(job, dict) else job.model_dump()
    progress = data["progress"]
    # Reading and scoring last seconds at this input size and delay; later stages could end before a kill.
    return data["status"] == "running" and isinstance(progress, dict) and progress["stage"] in ("reading", "scoring")


def _assert_outputs(files: FileService, owner: str, job: dict[str, object]) -> None:
    report = job["report"]
    assert isinstance(report, dict)
    train = files.get(owner=owner, file_id=str(job["train_file"]))
    val = files.get(owner=owner, file_id=str(job["validation_file"]))
    assert train.lines == report["split"]["train"] and val.lines == report["split"]["val"] and train.lines > 0
    assert files.get(owner=owner, file_id=str(job["report_file"])).purpose == "dataset-report"


def test_a_gateway_restart_loses_nothing(
    processes: Workers, scorer_target: str, files_service: FileService, env: dict[str, str]
) -> None:
    port = free_port()
    gateway_env = {
        "DISTRUST_GATEWAY_PORT": str(port),
        "DISTRUST_GATEWAY_API_KEYS": "key-alice=alice",
        "DISTRUST_GATEWAY_SCORER_TARGET": scorer_target,
    }
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, headers={"Authorization": "Bearer key-alice"}, timeout=30)

    def gateway() -> subprocess.Popen[bytes]:
        proc = processes.spawn("gateway", [sys.executable, "-m", "services.gateway"], **gateway_env)
        wait_for(lambda: _healthy(base), 60, "the gateway", poll_s=0.1, workers=processes)
        return proc

    processes.start()
    first = gateway()
    raw = http.post("/v1/files", data={"purpose": "raw"}, files={"file": ("raw.jsonl", io.BytesIO(_raw_lines()))})
    assert raw.status_code == 200, raw.text
    body = {"inputs": [{"file_id": raw.json()["id"]}], "options": {"min_length": 20, "seed": 5}}
    created = http.post("/v1/datasets/prepare", json=body)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    wait_for(
        lambda: _mid_way(http.get(f"/v1/datasets/jobs/{job_id}").json()),
        90,
        "the job to run",
        poll_s=0.1,
        workers=processes,
    )

    processes.kill(first)
    gateway()
    job = wait_for(
        lambda: (j := http.get(f"/v1/datasets/jobs/{job_id}").json())["status"] in ("succeeded", "failed") and j,
        120,
        "the job to end",
        poll_s=0.1,
        workers=processes,
    )
    assert isinstance(job, dict) and job["status"] == "succeeded", job
    _assert_outputs(files_service, "alice", job)
    assert http.get(f"/v1/files/{job['train_file']}/content").status_code == 200


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_killed_worker_job_is_requeued_and_succeeds(
    processes: Workers, scorer_target: str, files_service: FileService, redis_client: redis_lib.Redis
) -> None:
    raw = files_service.upload(owner="alice", filename="raw.jsonl", purpose="raw", stream=io.BytesIO(_raw_lines()))
    channel = open_channel(scorer_target)
    scorer = ScorerClient(channel)
    store = JobStore(redis_client, PREPARATION)
    first = processes.start()
    job = scorer.create_preparation("alice", [PreparationInput(file_id=raw.id)], PreparationOptions(min_length=20))
    wait_for(
        lambda: _mid_way(scorer.get_preparation("alice", job.id)), 90, "the job to run", poll_s=0.1, workers=processes
    )

    processes.kill(first)
    processes.start()
    done = wait_for(
        lambda: (j := scorer.get_preparation("alice", job.id)).status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and j,
        120,
        "the requeued job to end",
        poll_s=0.1,
        workers=processes,
    )
    channel.close()
    assert isinstance(done, PreparationRecord) and done.status == JobStatus.SUCCEEDED, done
    _assert_outputs(files_service, "alice", done.model_dump())
    messages = [e.message for e in store.events(job.id)]
    assert any("worker running this job stopped" in m for m in messages), messages
    assert sum(m == "Preparation started" for m in messages) == 2, messages
