"""Two inference replicas behind one gateway: adapter affinity, the models' union, and a killed replica's
requests moving to the other with none failed (requests made one after another here, so none is in flight)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import redis as redis_lib

from services.gateway.inference_client import InferenceClient
from services.gateway.replicas import InferenceRouter
from services.inference.config import InferenceSettings
from services.inference.server import start
from services.trainer.default_model import ensure_tiny_model
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.gateway import gateway_test_settings, served_gateway
from tests.helpers.random_adapter import make_random_adapter
from tests.inference.adapters import register_adapter

pytestmark = pytest.mark.slow
BASE = "replica-tiny-llama"
ADAPTERS = [f"ft:{BASE}:r{i}" for i in range(6)]


@pytest.fixture(scope="module")
def replicas(
    redis_settings: RedisSettings,
    storage_settings: StorageSettings,
    store: ObjectStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    registry = ModelRegistry(
        redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True), store
    )
    ensure_tiny_model(registry, tmp_path_factory.mktemp("build"), name=BASE, hidden_size=64, num_layers=2)
    base_dir = registry.fetch_base(BASE, tmp_path_factory.mktemp("cache"))
    work = tmp_path_factory.mktemp("adapters")
    for i, name in enumerate(ADAPTERS):
        adapter = make_random_adapter(base_dir, work / f"r{i}", seed=i, rank=4, magnitude=0.5)
        register_adapter(registry, store, adapter, name=name, owner="alice", base=BASE, job_id=f"ftjob-rep{i}")
    servers = [
        start(
            InferenceSettings(
                host="127.0.0.1",
                port=0,
                redis=redis_settings,
                storage=storage_settings,
                cache_dir=Path(tmp_path_factory.mktemp(f"icache{i}")),
                adapter_cache_size=8,
            )
        )
        for i in range(2)
    ]
    targets = [f"127.0.0.1:{s.port}" for s in servers]
    settings = gateway_test_settings(
        storage_settings, redis_settings, inference_target=",".join(targets), replica_health_interval_s=0.2
    )
    with served_gateway(settings) as url:
        yield {"url": url, "targets": targets, "servers": servers}
    for server in servers:
        server.stop(0)


def _cached(target: str) -> set[str]:
    async def ask() -> set[str]:
        client = InferenceClient(target)
        try:
            return set((await client.status("alice")).adapters)
        finally:
            await client.close()

    return asyncio.run(ask())


def _chat(sdk: openai.OpenAI, model: str) -> None:
    reply = sdk.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hello"}], max_tokens=2, temperature=0
    )
    assert reply.usage is not None and reply.usage.completion_tokens >= 1


def test_each_adapter_lives_on_one_replica_and_moves_when_it_dies(replicas: dict[str, Any]) -> None:
    sdk = openai.OpenAI(base_url=f"{replicas['url']}/v1", api_key="key-alice", max_retries=0)
    for _ in range(3):
        for name in ADAPTERS:
            _chat(sdk, name)
    first, second = (_cached(t) for t in replicas["targets"])
    assert first | second == set(ADAPTERS) and not first & second, (first, second)  # each on exactly one
    # the ports are random, so all six on one replica is a 1-in-32 draw: placement is checked against the hashing
    router = InferenceRouter(replicas["targets"])
    for name in ADAPTERS:
        owner = replicas["targets"][0] if name in first else replicas["targets"][1]
        assert router.ranked(f"{BASE}|{name}")[0].target == owner  # the key: base and adapter

    listed = [m.id for m in sdk.models.list()]
    assert len(listed) == len(set(listed)) and set(ADAPTERS) <= set(listed)  # the union, each id once

    victim = 0 if first else 1
    moved = first if victim == 0 else second
    replicas["servers"][victim].stop(0)
    for name in sorted(moved):  # no request fails: the dead replica's keys go to the other one
        _chat(sdk, name)
    survivor = replicas["targets"][1 - victim]
    assert moved <= _cached(survivor)
    ready = httpx.get(f"{replicas['url']}/readyz", headers={"Authorization": "Bearer key-alice"}).json()
    assert ready["checks"]["inference"]["status"] == "ok"
    statuses = {t: c["status"] for t, c in ready["checks"]["inference"]["replicas"].items()}
    assert statuses == {replicas["targets"][victim]: "error", survivor: "ok"}
