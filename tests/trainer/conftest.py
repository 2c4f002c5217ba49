"""Trainer fixtures: a registered small default model, a trainer service, real Celery worker processes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from services.trainer.config import TrainerSettings
from services.trainer.default_model import ensure_tiny_model
from services.trainer.server import start
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.gateway import gateway_client
from tests.helpers.workers import Workers, backend_env

TEST_MODEL = "test-tiny-llama"
SIZES = {"hidden_size": 64, "num_layers": 2}


@pytest.fixture(scope="session")
def trainer_env(
    redis_settings: RedisSettings, storage_settings: StorageSettings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return backend_env(
        redis_settings,
        storage_settings,
        DISTRUST_TRAINER_CACHE_DIR=str(tmp_path_factory.mktemp("worker-cache")),
        DISTRUST_TRAINER_LEASE_TTL_S="3",
    )


# Module scope: other tests flush Redis between tests, which would drop a session-wide registration.
@pytest.fixture(scope="module")
def registered_model(
    redis_settings: RedisSettings, store: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> str:
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    ensure_tiny_model(ModelRegistry(client, store), tmp_path_factory.mktemp("build"), name=TEST_MODEL, **SIZES)
    return TEST_MODEL


@pytest.fixture(scope="module")
def workers(trainer_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    pool = Workers(trainer_env, tmp_path_factory.mktemp("worker-logs"))
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def trainer_target(
    trainer_env: dict[str, str], redis_settings: RedisSettings, storage_settings: StorageSettings, registered_model: str
) -> Iterator[str]:
    settings = TrainerSettings(
        host="127.0.0.1", port=0, redis=redis_settings, storage=storage_settings, reaper_interval_s=0.5
    )
    running = start(settings)
    yield f"127.0.0.1:{running.port}"
    running.stop(0)


@pytest.fixture(scope="module")
def trainer_gateway(
    storage_settings: StorageSettings, redis_settings: RedisSettings, trainer_target: str
) -> Iterator[TestClient]:
    """A gateway in front of this module's trainer service (no inference)."""
    with gateway_client(storage_settings, redis_settings, trainer_target=trainer_target) as client:
        yield client


def scored_training_file(client: TestClient, rows: list[dict[str, object]], headers: dict[str, str]) -> str:
    """Upload `rows` as a fine-tune file; its id."""
    data = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    response = client.post(
        "/v1/files", headers=headers, data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", data)}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])
