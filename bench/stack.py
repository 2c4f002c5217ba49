"""The local stack for benchmarks: `distrust up` in a temporary data folder on free ports, and small helpers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from cli.stack.layout import PORT_SETTINGS
from shared.settings import RedisSettings, StorageSettings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _unwind_on_signals() -> None:
    """SIGTERM / SIGHUP (a timeout, a closed terminal) unwind like Ctrl-C, so `__exit__` stops the stack."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))


class OurStack:
    """`distrust up` in a temporary data folder on free ports; adapters registered for the local owner."""

    def __init__(
        self, work: Path, env: dict[str, str] | None = None, default_model: str = "distrust-tiny-llama"
    ) -> None:
        self.env = {
            **(os.environ if env is None else env),
            "DISTRUST_DATA_DIR": str(work / "data"),
            "PYTHONPATH": str(ROOT),
            "DISTRUST_LOCAL_DEFAULT_MODEL": default_model,
        }
        for name in PORT_SETTINGS.values():
            self.env[name] = str(free_port())
        self.base_url = f"http://127.0.0.1:{self.env['DISTRUST_GATEWAY_PORT']}/v1"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise SystemExit(f"distrust {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def __enter__(self) -> OurStack:
        _unwind_on_signals()
        self.cli("up")
        try:
            exports = dict(line.removeprefix("export ").split("=", 1) for line in self.cli("env").splitlines())
            self.api_key = exports["DISTRUST_API_KEY"]
        except BaseException:
            self.cli("down")
            raise
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            for name in ("inference", "gateway"):
                log = Path(self.env["DISTRUST_DATA_DIR"]) / "logs" / f"{name}.log"
                if log.exists():
                    say(f"--- {name}.log (tail)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        self.cli("down")

    def add_base(self, name: str, directory: Path) -> str:
        """Register the model folder `directory` as base model `name` (`distrust models add`)."""
        self.cli("models", "add", name, str(directory))
        return name

    def settings(self) -> tuple[StorageSettings, RedisSettings]:
        """The stack's S3 settings (LanceDB's endpoint included) and its Redis settings."""
        from cli.stack import control, layout

        old = dict(os.environ)
        os.environ.update(self.env)
        try:
            secrets = control.data_dir().secrets()
            ports = layout.Ports.from_env(layout.LocalStackSettings())
            storage = layout.storage_settings(ports, secrets)
            lance = layout.service_env(control.data_dir(), ports, secrets).get("DISTRUST_STORAGE_LANCE_ENDPOINT")
            return storage.model_copy(update={"lance_endpoint": lance}), RedisSettings(
                url=layout.redis_url(ports, secrets)
            )
        finally:
            os.environ.clear()
            os.environ.update(old)

    def register_adapters(self, adapters: list[Path], base: str = "distrust-tiny-llama") -> list[str]:
        from shared.model_registry import AdapterRecord, ModelRegistry
        from shared.redis_store import connect
        from shared.storage import Bucket, ObjectStore

        storage, redis_settings = self.settings()
        store = ObjectStore(storage)
        registry = ModelRegistry(connect(redis_settings), store)
        names = []
        for i, directory in enumerate(adapters):
            job_id = f"ftjob-bench{i}"
            files = {
                p.name: store.put_file(Bucket.ADAPTERS, f"{job_id}/{p.name}", p).sha256 or ""
                for p in directory.iterdir()
            }
            name = f"ft:{base}:bench{i}:{job_id}"
            registry.register_adapter(
                AdapterRecord(
                    name=name,
                    job_id=job_id,
                    owner="local",
                    base_model=base,
                    created=int(time.time()),
                    files=files,
                )
            )
            names.append(name)
        return names

    def client(self, timeout_s: float = 300.0) -> httpx.Client:
        """An HTTP client of the gateway with the stack's API key."""
        return httpx.Client(
            base_url=self.base_url.removesuffix("/v1"),
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )


def wait_for_status(
    client: httpx.Client, path: str, *, timeout_s: float, poll_s: float = 1.0, on_poll: Any = None
) -> dict[str, Any]:
    """GET `path` until its `status` is terminal; raise SystemExit on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(path).raise_for_status().json()
        if on_poll is not None:
            on_poll(body)
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(poll_s)
    raise SystemExit(f"{path} did not finish within {timeout_s:.0f} s")
