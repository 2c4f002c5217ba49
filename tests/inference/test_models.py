"""The model manager: switching to another base lets the current base's running requests finish first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from services.inference.engine import Done, Engine, GenerationRequest
from services.inference.models import ModelManager
from services.trainer.models.tiny import build_tiny_model
from shared.model_registry import ModelRegistry
from shared.storage import ObjectStore

LONG = GenerationRequest(prompt="Once upon a time", max_tokens=600, temperature=0)


@pytest.fixture
def registry(redis_client: redis_lib.Redis, store: ObjectStore, tmp_path: Path) -> ModelRegistry:
    registry = ModelRegistry(redis_client, store)
    for name, seed in (("switch-a", 1), ("switch-b", 2)):
        registry.register_base(name, build_tiny_model(tmp_path / name, seed=seed, hidden_size=64, num_layers=2))
    return registry


@pytest.fixture
def manager(registry: ModelRegistry, tmp_path: Path) -> Iterator[ModelManager]:
    manager = ModelManager(registry, tmp_path / "cache", set(), lambda path: Engine(path))
    yield manager
    manager.close()


def _finish(handle: object) -> Done:
    return [item for item in handle if isinstance(item, Done)][0]  # type: ignore[attr-defined]


def test_switching_base_waits_for_running_requests(manager: ModelManager) -> None:
    engine_a, _ = manager.prepare("alice", "switch-a")
    running = engine_a.submit(LONG)
    switched: list[Engine] = []
    switch = threading.Thread(target=lambda: switched.append(manager.prepare("alice", "switch-b")[0]))
    switch.start()
    done = _finish(running)
    switch.join(60)
    assert done.finish_reason == "length" and done.completion_tokens == 600
    assert switched and switched[0] is not engine_a
    assert _finish(switched[0].submit(GenerationRequest(prompt="hi", max_tokens=3))).completion_tokens == 3


def test_switching_base_cancels_what_outlives_the_timeout(manager: ModelManager) -> None:
    manager.switch_timeout_s = 0.05
    engine_a, _ = manager.prepare("alice", "switch-a")
    running = engine_a.submit(GenerationRequest(prompt="Once", max_tokens=2000, temperature=0))
    manager.prepare("alice", "switch-b")
    done = _finish(running)
    assert done.finish_reason == "cancelled" and done.completion_tokens < 2000
