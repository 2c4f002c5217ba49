"""The gateway as the tests run it in-process: two owners (alice and bob, keys `key-alice`, `key-bob`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from shared.settings import RedisSettings, StorageSettings, load_settings
from tests.helpers.host import free_port

API_KEYS = "key-alice=alice,key-bob=bob"


def gateway_test_settings(storage: StorageSettings, redis: RedisSettings, **overrides: object) -> GatewaySettings:
    """The gateway's settings on the test Redis and S3; `overrides` are further GatewaySettings fields."""
    return load_settings(GatewaySettings, storage=storage, redis=redis, api_keys=API_KEYS, **overrides)


@contextmanager
def gateway_client(storage: StorageSettings, redis: RedisSettings, **overrides: object) -> Iterator[TestClient]:
    """A TestClient on a gateway built from `gateway_test_settings`, its lifespan run."""
    with TestClient(create_app(gateway_test_settings(storage, redis, **overrides))) as client:
        yield client


@contextmanager
def served_gateway(settings: GatewaySettings) -> Iterator[str]:
    """The gateway on a real socket (uvicorn in a thread, a free port), for clients that open their own
    connections (the SDK, lm-evaluation-harness); yields its base URL, `http://127.0.0.1:PORT`."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
