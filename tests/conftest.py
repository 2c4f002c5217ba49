"""Session fixtures: a real Redis and a real S3 server (rclone, credentials enforced) on free ports."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from cli.stack import layout
from cli.stack.process import ManagedProcess
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.host import free_port
from tests.helpers.leaks import find_leaks

# Hermetic: a user's `eval "$(distrust env)"` (base URL, key, ports) must not reach the stacks tests start.
# DISTRUST_TEST_* settings are the tests' own (where to cache the real model).
for _name in [n for n in os.environ if n.startswith("DISTRUST_") and not n.startswith("DISTRUST_TEST_")]:
    del os.environ[_name]


def _record_secrets(folder: Path, **values: str) -> None:
    """Note the session's own secrets where the leak check below finds them."""
    (folder / "secrets.json").write_text(json.dumps(values))


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole run: no log any test wrote (every stack's, every server's) holds a secret or a key."""
    yield
    leaks = find_leaks(tmp_path_factory.getbasetemp())
    assert leaks == [], "secrets in logs:\n" + "\n".join(leaks[:50])


@pytest.fixture(scope="session")
def redis_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSettings]:
    password = secrets.token_hex(8)
    port = free_port()
    logs = tmp_path_factory.mktemp("redis-logs")
    _record_secrets(logs, redis_password=password)
    proc = ManagedProcess(layout.redis_component(port, str(tmp_path_factory.mktemp("redis")), password), logs)
    proc.start()
    try:
        proc.wait_healthy(20)
        yield RedisSettings(url=f"redis://:{password}@127.0.0.1:{port}/0")
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def storage_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageSettings]:
    access_key, secret_key = "test-" + secrets.token_hex(4), secrets.token_urlsafe(16)
    settings = StorageSettings(
        endpoint=f"127.0.0.1:{free_port()}", access_key=access_key, secret_key=secret_key, bucket_prefix="t-"
    )
    port = int(settings.endpoint.rsplit(":", 1)[1])
    logs = tmp_path_factory.mktemp("s3-logs")
    _record_secrets(logs, access_key=access_key, secret_key=secret_key)
    proc = ManagedProcess(layout.storage_component(port, str(tmp_path_factory.mktemp("s3")), settings), logs)
    proxy = ManagedProcess(layout.lance_proxy_component(free_port(), settings), logs)
    proc.start()
    try:
        proc.wait_healthy(20)
        proxy.start()
        proxy.wait_healthy(20)
        ObjectStore(settings).ensure_buckets()
        yield settings.model_copy(update={"lance_endpoint": f"127.0.0.1:{proxy.component.port}"})
    finally:
        proxy.stop()
        proc.stop()


@pytest.fixture(scope="session")
def store(storage_settings: StorageSettings) -> ObjectStore:
    return ObjectStore(storage_settings)


@pytest.fixture
def redis_client(redis_settings: RedisSettings) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def scorer_target(storage_settings: StorageSettings, redis_settings: RedisSettings) -> Iterator[str]:
    """A real scorer gRPC server on a free port, backed by the session's Redis and S3.

    Its preparation jobs run in a thread of this process through the real runner; the slow tests use Celery.
    """
    import threading

    from services.scorer.config import ScorerSettings
    from services.scorer.jobs import PREPARATION
    from services.scorer.runner import PreparationContext, PreparationRunner
    from services.scorer.server import start
    from shared.jobs.store import JobStore
    from shared.redis_store import connect

    settings = ScorerSettings(host="127.0.0.1", port=0, storage=storage_settings, redis=redis_settings)
    client = connect(redis_settings)
    runner = PreparationRunner(
        PreparationContext(
            store=JobStore(client, PREPARATION),
            files=FileService(ObjectStore(storage_settings), FileRepository(client), max_bytes=1 << 30),
            holder="test-thread",
            lease_ttl_s=settings.lease_ttl_s,
        )
    )

    def run_in_thread(job_id: str) -> None:
        threading.Thread(target=runner.run, args=(job_id,), daemon=True).start()

    running = start(settings, enqueue=run_in_thread)
    yield f"127.0.0.1:{running.port}"
    running.stop(0)


@pytest.fixture
def files_service(store: ObjectStore, redis_client: redis_lib.Redis) -> FileService:
    return FileService(store, FileRepository(redis_client), max_bytes=1 << 30)
