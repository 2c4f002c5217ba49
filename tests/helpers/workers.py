"""Helpers the end-to-end tests import: Celery worker and other child processes, and polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from shared.settings import RedisSettings, StorageSettings
from tests.helpers.host import REPO

T = TypeVar("T")


class Workers:
    """Real `celery worker` processes of one app and queue, and other child processes, each with its log.

    `kill()` is a kill -9; `stop_all()` stops every one still running.
    """

    def __init__(
        self, env: dict[str, str], log_dir: Path, *, app: str = "services.trainer.worker", queue: str = "training"
    ) -> None:
        self.env = env
        self.log_dir = log_dir
        self.app = app
        self.queue = queue
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, name: str, argv: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=REPO, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        """One more worker process; `env` adds variables (a memory budget, say) to the pool's environment."""
        argv = [sys.executable, "-m", "celery", "-A", self.app, "worker", "--pool", "solo", "--queues", self.queue]
        argv += ["--loglevel", "INFO", "--hostname", f"{self.queue}{len(self.procs)}@%h"]
        return self.spawn("worker", [*argv, "--without-gossip", "--without-mingle"], **env)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.log_dir.glob("*.log")))


def backend_env(redis: RedisSettings, storage: StorageSettings, **extra: str) -> dict[str, str]:
    """The environment of a worker process on the test Redis and S3 (plus `extra` variables)."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "DISTRUST_REDIS_URL": redis.url.get_secret_value(),
        "DISTRUST_STORAGE_ENDPOINT": storage.endpoint,
        "DISTRUST_STORAGE_ACCESS_KEY": storage.access_key.get_secret_value() if storage.access_key else "",
        "DISTRUST_STORAGE_SECRET_KEY": storage.secret_key.get_secret_value() if storage.secret_key else "",
        "DISTRUST_STORAGE_BUCKET_PREFIX": storage.bucket_prefix,
        "DISTRUST_STORAGE_LANCE_ENDPOINT": storage.lance_endpoint or "",
        **extra,
    }


def wait_for(
    predicate: Callable[[], T], timeout_s: float, what: str, poll_s: float = 0.05, workers: Workers | None = None
) -> T:
    """The first truthy value of `predicate`; on timeout an AssertionError with the workers' logs of that moment."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{workers.logs()}" if workers else ""))
