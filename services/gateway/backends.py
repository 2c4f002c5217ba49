"""The gateway's connections to its backends, built once per app, and their readiness checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import grpc
import redis

from services.gateway.config import GatewaySettings
from services.gateway.scorer_client import ScorerClient
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.model_registry import ModelRegistry
from shared.redis_store import connect
from shared.rpc.client import check_health, open_channel, targets_of
from shared.storage import ObjectStore

GRPC_BACKENDS = ("scorer", "trainer", "inference")


@dataclass
class Backends:
    """The connections and domain services the routes use."""

    settings: GatewaySettings
    store: ObjectStore
    redis: redis.Redis
    files: FileService
    channels: dict[str, grpc.Channel] = field(default_factory=dict)

    @property
    def scorer(self) -> ScorerClient:
        return ScorerClient(self.channels["scorer"])

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.redis, self.store)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Backends:
        store = ObjectStore(settings.storage)
        client = connect(settings.redis)
        files = FileService(
            store,
            FileRepository(client),
            max_bytes=settings.max_upload_bytes,
            max_model_bytes=settings.max_model_upload_bytes,
        )
        channels = {
            _replica(name, target, several=len(targets) > 1): open_channel(target)
            for name in GRPC_BACKENDS
            for targets in [targets_of(getattr(settings, f"{name}_target"))]
            for target in targets
        }
        return cls(settings, store, client, files, channels)

    def readiness(self) -> dict[str, dict[str, object]]:
        """Check every backend at once; each entry says ok or the error, and how long the check took.

        A hung backend (stopped, not dead: its socket accepts and never answers) is reported as such after
        `readiness_timeout_s`: the answer never waits for it.
        """
        deadline = self.settings.readiness_timeout_s
        checks: dict[str, Callable[[], object]] = {
            "redis": lambda: self.redis.ping(),
            "storage": self.store.ping,
            **{name: _grpc_check(channel, deadline) for name, channel in self.channels.items()},
        }
        pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readiness")
        futures = {name: pool.submit(_timed, check) for name, check in checks.items()}
        wait(futures.values(), timeout=deadline)
        pool.shutdown(wait=False)  # a hung check's thread ends with its client's own timeout
        late = {"status": "error", "error": f"no answer within {deadline:g} s", "latency_ms": deadline * 1000}
        results = {name: future.result() if future.done() else dict(late) for name, future in futures.items()}
        return _replicas_together(results)

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
        self.redis.close()


def _replica(name: str, target: str, *, several: bool) -> str:
    return f"{name}@{target}" if several else name


def _replicas_together(results: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """One entry per backend: replicated backends (`name@target`) are ready while any replica is."""
    merged: dict[str, dict[str, object]] = {}
    for key, result in results.items():
        name, _, target = key.partition("@")
        if not target:
            merged[key] = result
            continue
        replicas = {**_replica_results(merged.get(name)), target: result}
        ok = any(r["status"] == "ok" for r in replicas.values())
        latency = max(float(str(r["latency_ms"])) for r in replicas.values())
        merged[name] = {"status": "ok" if ok else "error", "latency_ms": latency, "replicas": replicas}
    return merged


def _replica_results(entry: dict[str, object] | None) -> dict[str, dict[str, object]]:
    replicas = entry.get("replicas") if entry else None
    return dict(replicas) if isinstance(replicas, dict) else {}


def _grpc_check(channel: grpc.Channel, timeout: float) -> Callable[[], object]:
    def check() -> object:
        status = check_health(channel, timeout_s=timeout)
        if status != "SERVING":
            raise RuntimeError(f"health status {status}")
        return status

    return check


def _timed(check: Callable[[], object]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        check()
    except grpc.RpcError as exc:
        result: dict[str, object] = {"status": "error", "error": f"{exc.code().name}: {exc.details()}"}
    except Exception as exc:
        result = {"status": "error", "error": getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"}
    else:
        result = {"status": "ok"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result
