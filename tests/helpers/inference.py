"""A real inference gRPC server on a free port for tests that need generation behind a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.inference.config import InferenceSettings
from services.inference.server import start
from shared.settings import RedisSettings, StorageSettings


@contextmanager
def inference_server(redis: RedisSettings, storage: StorageSettings, cache_dir: Path) -> Iterator[str]:
    """The inference service on the test Redis and S3; yields its target, `127.0.0.1:PORT`."""
    running = start(InferenceSettings(host="127.0.0.1", port=0, redis=redis, storage=storage, cache_dir=cache_dir))
    try:
        yield f"127.0.0.1:{running.port}"
    finally:
        running.stop(0)
