"""A hung (stopped, not dead) Redis or S3 server: /readyz still answers within 2 s, and an upload whose client
left while storage hung is not kept once storage comes back."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cli.stack import layout
from cli.stack.process import ManagedProcess
from shared.settings import RedisSettings, StorageSettings
from shared.storage import Bucket, ObjectStore
from tests.gateway.users import ALICE
from tests.helpers.gateway import gateway_test_settings, served_gateway
from tests.helpers.host import free_port


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[tuple[ManagedProcess, ManagedProcess, RedisSettings, StorageSettings]]:
    """A Redis and an S3 server of this test's own, free to be stopped."""
    password, port = secrets.token_hex(8), free_port()
    redis_proc = ManagedProcess(layout.redis_component(port, str(tmp_path / "redis"), password), tmp_path)
    storage = StorageSettings(
        endpoint=f"127.0.0.1:{free_port()}", access_key="hung", secret_key=secrets.token_urlsafe(16), timeout_s=30
    )
    storage_port = int(storage.endpoint.rsplit(":", 1)[1])
    s3_proc = ManagedProcess(layout.storage_component(storage_port, str(tmp_path / "s3"), storage), tmp_path)
    for proc in (redis_proc, s3_proc):
        proc.start()
        proc.wait_healthy(20)
    ObjectStore(storage).ensure_buckets()
    try:
        yield redis_proc, s3_proc, RedisSettings(url=f"redis://:{password}@127.0.0.1:{port}/0"), storage
    finally:
        for proc in (redis_proc, s3_proc):
            _signal(proc, signal.SIGCONT)
            proc.stop()


def _signal(proc: ManagedProcess, sig: signal.Signals) -> None:
    pid = proc.pid
    if pid is not None:
        os.kill(pid, sig)


@contextmanager
def _stopped(*procs: ManagedProcess) -> Iterator[None]:
    for proc in procs:
        _signal(proc, signal.SIGSTOP)
    time.sleep(0.2)  # let the signal land, and an answer already on its way arrive
    try:
        yield
    finally:
        for proc in procs:
            _signal(proc, signal.SIGCONT)


def test_readyz_answers_within_2_s_when_redis_and_s3_hang(
    backends: tuple[ManagedProcess, ManagedProcess, RedisSettings, StorageSettings],
) -> None:
    redis_proc, s3_proc, redis_settings, storage = backends
    with served_gateway(gateway_test_settings(storage, redis_settings)) as base:
        assert httpx.get(f"{base}/readyz", headers=ALICE, timeout=10).json()["checks"]["redis"]["status"] == "ok"
        with _stopped(redis_proc, s3_proc):
            started = time.monotonic()
            hung = httpx.get(f"{base}/readyz", headers=ALICE, timeout=10)
            took = time.monotonic() - started
        assert took < 2.0, took
        assert hung.status_code == 503, hung.text
        checks = hung.json()["checks"]
        for name in ("redis", "storage"):
            assert checks[name]["status"] == "error" and "no answer within" in checks[name]["error"], checks
        deadline = time.monotonic() + 15
        while httpx.get(f"{base}/readyz", headers=ALICE, timeout=10).json()["checks"]["redis"]["status"] != "ok":
            assert time.monotonic() < deadline, "redis never came back in /readyz"
            time.sleep(0.5)


def test_an_upload_whose_client_left_during_an_s3_hang_is_not_kept(
    backends: tuple[ManagedProcess, ManagedProcess, RedisSettings, StorageSettings],
) -> None:
    _redis_proc, s3_proc, redis_settings, storage = backends
    objects = ObjectStore(storage)
    with served_gateway(gateway_test_settings(storage, redis_settings)) as base:
        files = {"file": ("left.jsonl", b'{"text": "the client gave up"}\n')}
        with _stopped(s3_proc):
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(f"{base}/v1/files", headers=ALICE, data={"purpose": "fine-tune"}, files=files, timeout=1.0)
            time.sleep(1.0)
        # Storage is back: the stalled write completes in the gateway, which then finds its client gone.
        threading.Event().wait(3.0)
        listed = httpx.get(f"{base}/v1/files", headers=ALICE, timeout=10).json()["data"]
        assert "left.jsonl" not in [f["filename"] for f in listed]
        assert list(objects.list(Bucket.FILES)) == []
        kept = httpx.post(f"{base}/v1/files", headers=ALICE, data={"purpose": "fine-tune"}, files=files, timeout=10)
        assert kept.status_code == 200 and len(list(objects.list(Bucket.FILES))) == 1
