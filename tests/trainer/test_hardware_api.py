"""The workers' machines over HTTP: a real Celery worker publishes its machine, the trainer's gRPC service lists it,
a real (uvicorn) gateway serves it, and `distrust recommend` / `distrust status` read it from there."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_lib
from typer.testing import CliRunner

from cli.client import GatewayClient
from cli.commands.recommend import worker_blas_lines
from cli.main import app as cli
from shared.settings import RedisSettings, StorageSettings
from tests.helpers.gateway import gateway_test_settings, served_gateway
from tests.helpers.workers import Workers, wait_for

ALICE = {"Authorization": "Bearer key-alice"}


@pytest.fixture(scope="module")
def gateway_url(trainer_target: str, storage_settings: StorageSettings, redis_settings: RedisSettings) -> Iterator[str]:
    settings = gateway_test_settings(
        storage_settings,
        redis_settings,
        trainer_target=trainer_target,
        scorer_target="127.0.0.1:1",
        inference_target="127.0.0.1:1",
        backend_timeout_s=0.5,
    )
    with served_gateway(settings) as url:
        yield url


@pytest.fixture(scope="module")
def worker_id(
    trainer_env: dict[str, str], redis_settings: RedisSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real worker publishing every half second, alone on the board (reports of other tests' workers dropped)."""
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    for key in client.scan_iter("distrust:hardware:*"):
        client.delete(key)
    env = {**trainer_env, "DISTRUST_TRAINER_HARDWARE_INTERVAL_S": "0.5", "DISTRUST_TRAINER_MEMORY_BUDGET_GB": "6"}
    pool = Workers(env, tmp_path_factory.mktemp("hardware-worker-logs"))
    proc = pool.start()
    yield f"{socket.gethostname()}:{proc.pid}"
    pool.stop_all()
    client.close()


def _get(url: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers=ALICE, params=params, timeout=30)


def test_the_trainers_machine_then_the_workers(gateway_url: str, worker_id: str) -> None:
    listed = _get(gateway_url, "/v1/hardware").json()
    if listed["data"][0]["role"] == "trainer":  # the worker is still starting: the trainer's machine stands in
        assert len(listed["data"]) == 1 and listed["data"][0]["id"] != worker_id

    def reported() -> dict[str, Any] | None:
        data = _get(gateway_url, "/v1/hardware").json()["data"]
        return next((w for w in data if w["id"] == worker_id), None)

    worker = wait_for(reported, 60, "the worker's report")
    assert worker is not None
    assert worker["role"] == "worker" and worker["hostname"] == socket.gethostname()
    assert worker["budget_bytes"] == 6_000_000_000 and worker["budget_configured"] is True
    assert worker["blas"].startswith("BLAS: ") and worker["blas_kind"] in ("reference", "mkl", "openblas", "unknown")
    assert worker["hardware"]["cpu_count"] >= 1 and worker["hardware"]["mlx_device"] == "cpu"
    first = worker["updated_at"]
    wait_for(lambda: (w := reported()) is not None and w["updated_at"] > first, 10, "a heartbeat")
    assert _get(gateway_url, "/v1/hardware").json()["first_id"] == worker_id
    assert httpx.get(f"{gateway_url}/v1/hardware", timeout=10).status_code == 401
    ready = _get(gateway_url, "/readyz")  # 503: no scorer or inference here, but the trainer answers
    assert ready.status_code == 503 and ready.json()["checks"]["trainer"]["status"] == "ok"
    assert ready.json()["blas"] == {worker_id: worker["blas"]}


def test_a_recommendation_for_the_workers_budget(gateway_url: str, worker_id: str, registered_model: str) -> None:
    wait_for(lambda: _get(gateway_url, "/v1/hardware").json()["data"][0]["role"] == "worker", 60, "the worker")
    body = _get(gateway_url, "/v1/hardware/recommendation", model=registered_model, seq_len=64).json()
    assert body["worker"]["id"] == worker_id
    rec = body["recommendation"]
    assert rec["budget_bytes"] == 6_000_000_000 and rec["seq_len"] == 64 and rec["estimate"]["quantize_bits"] is None
    assert 0 < rec["estimate"]["total_bytes"] <= rec["budget_bytes"] and rec["dtype"] == "float32"
    half = _get(gateway_url, "/v1/hardware/recommendation", model=registered_model, precision="bfloat16").json()
    assert half["recommendation"]["estimate"]["dtype_bytes"] == 2 and half["recommendation"]["seq_len"] == 512
    named = _get(gateway_url, "/v1/hardware/recommendation", model=registered_model, worker=worker_id)
    assert named.status_code == 200 and named.json()["worker"]["id"] == worker_id


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"seq_len": 0}, 400, "seq_len"),
        ({"seq_len": 100_000}, 400, "seq_len"),  # beyond the model's context
        ({"precision": "int8"}, 400, "precision"),
        ({"quantize_base": 3}, 400, "quantize_base"),
        ({"quantize_base": -4}, 400, "quantize_base"),  # found by schemathesis: was a 500 from protobuf
        ({"model": "m" * 1000}, 400, "model"),
        ({"model": "no-such-model"}, 404, "model"),
        ({"worker": "gone:1"}, 404, "worker"),
    ],
)
def test_refusals_name_the_parameter(
    gateway_url: str, worker_id: str, registered_model: str, params: dict[str, Any], status: int, param: str
) -> None:
    response = _get(gateway_url, "/v1/hardware/recommendation", **{"model": registered_model, **params})
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_the_cli_recommends_for_the_worker(
    gateway_url: str, worker_id: str, registered_model: str, tmp_path: Path
) -> None:
    env = {"DISTRUST_BASE_URL": gateway_url, "DISTRUST_API_KEY": "key-alice", "DISTRUST_DATA_DIR": str(tmp_path)}
    wait_for(lambda: _get(gateway_url, "/v1/hardware").json()["data"][0]["role"] == "worker", 60, "the worker")
    result = CliRunner().invoke(
        cli, ["recommend", "--model", registered_model, "--seq-len", "64", "--precision", "bfloat16"], env=env
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    assert f"worker {worker_id}:" in text and "budget 6.00 GB" in text and "BLAS: " in text
    assert "GB of 6.00 GB" in text and "blocks of the base in bfloat16" in text and "quantize_base │ - │" in text
    missing = CliRunner().invoke(cli, ["recommend", "--model", "no-such-model"], env=env)
    assert missing.exit_code == 1 and "no-such-model" in missing.output
    local = CliRunner().invoke(cli, ["recommend", "--local", "--model", registered_model, "--worker", "x"], env=env)
    assert local.exit_code == 1 and "--worker" in local.output
    # `distrust status` (which needs the local stack running) adds these lines under its own BLAS line.
    lines = worker_blas_lines(GatewayClient(gateway_url, "key-alice"))
    assert [line.split(": ", 1)[0] for line in lines] == [f"worker {worker_id}"] and "BLAS: " in lines[0]
    assert worker_blas_lines(GatewayClient(gateway_url, "wrong-key")) == []


def test_a_stopped_worker_takes_its_report_away(gateway_url: str, trainer_env: dict[str, str], tmp_path: Path) -> None:
    pool = Workers({**trainer_env, "DISTRUST_TRAINER_HARDWARE_INTERVAL_S": "30"}, tmp_path)
    proc = pool.start()
    own = f"{socket.gethostname()}:{proc.pid}"

    def ids() -> set[str]:
        return {w["id"] for w in _get(gateway_url, "/v1/hardware").json()["data"]}

    try:
        wait_for(lambda: own in ids(), 60, "the second worker's report", workers=pool)
    finally:
        pool.stop_all()
    assert proc.returncode == 0
    assert own not in ids()  # removed at shutdown, not left to expire (90 s at this interval)
