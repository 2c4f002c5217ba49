"""The gateway as the tests run it in-process: two owners (alice and bob, keys `key-alice`, `key-bob`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from shared.settings import RedisSettings, StorageSettings, load_settings

API_KEYS = "key-alice=alice,key-bob=bob"


def gateway_test_settings(storage: StorageSettings, redis: RedisSettings, **overrides: object) -> GatewaySettings:
    """The gateway's settings on the test Redis and S3; `overrides` are further GatewaySettings fields."""
    return load_settings(GatewaySettings, storage=storage, redis=redis, api_keys=API_KEYS, **overrides)


@contextmanager
def gateway_client(storage: StorageSettings, redis: RedisSettings, **overrides: object) -> Iterator[TestClient]:
    """A TestClient on a gateway built from `gateway_test_settings`, its lifespan run."""
    with TestClient(create_app(gateway_test_settings(storage, redis, **overrides))) as client:
        yield client
