from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from shared.settings import RedisSettings, StorageSettings
from tests.helpers.gateway import gateway_test_settings


def make_settings(storage: StorageSettings, redis: RedisSettings, **overrides: object) -> GatewaySettings:
    return gateway_test_settings(
        storage,
        redis,
        scorer_target="127.0.0.1:1",
        trainer_target="127.0.0.1:1",
        inference_target="127.0.0.1:1",
        backend_timeout_s=0.5,
        **overrides,
    )


@pytest.fixture
def gateway_settings(
    storage_settings: StorageSettings, redis_settings: RedisSettings, redis_client: object
) -> GatewaySettings:
    return make_settings(storage_settings, redis_settings, max_upload_bytes=64 * 1024)


@pytest.fixture
def client(gateway_settings: GatewaySettings) -> Iterator[TestClient]:
    with TestClient(create_app(gateway_settings)) as test_client:
        yield test_client


@pytest.fixture
def scoring_client(
    storage_settings: StorageSettings, redis_settings: RedisSettings, redis_client: object, scorer_target: str
) -> Iterator[TestClient]:
    settings = make_settings(storage_settings, redis_settings).model_copy(update={"scorer_target": scorer_target})
    with TestClient(create_app(settings)) as test_client:
        yield test_client
