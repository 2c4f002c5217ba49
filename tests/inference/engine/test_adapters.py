"""The adapter cache: LRU eviction, pins, adapters in use, unloading, and adapters that do not fit the base."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlx_lm
import pytest

from services.inference.engine import Engine, GenerationRequest
from services.trainer.models.tiny import build_tiny_model
from shared import adapter_format
from shared.errors import InvalidArgument, NotFound, ResourceExhausted
from tests.helpers.random_adapter import write_random_adapter as write_adapter
from tests.inference.engine.streams import collect


@pytest.fixture
def small(base_model: Path) -> Iterator[Engine]:
    with Engine(base_model, max_batch_size=4, adapter_cache_size=2) as eng:
        yield eng


def use(engine: Engine, adapter: str) -> str:
    return collect(engine.submit(GenerationRequest(prompt="hi", adapter=adapter, max_tokens=3, temperature=0))).text


def test_the_least_recently_used_adapter_is_evicted(small, adapters):
    small.load_adapter("a", adapters["a"])
    small.load_adapter("b", adapters["b"])
    use(small, "a")  # now b is the least recently used
    small.load_adapter("c", adapters["c"])
    assert small.loaded_adapters() == ["a", "c"]
    small.load_adapter("b", adapters["b"])
    assert small.loaded_adapters() == ["b", "c"]
    assert small.base_loads == 1


def test_pinned_adapters_are_never_evicted(small, adapters):
    small.load_adapter("a", adapters["a"], pin=True)
    small.load_adapter("b", adapters["b"])
    small.load_adapter("c", adapters["c"])
    small.load_adapter("d", adapters["d"])
    assert small.loaded_adapters() == ["a", "d"] and small.pinned_adapters() == ["a"]
    small.pin("d")
    with pytest.raises(ResourceExhausted):
        small.load_adapter("b", adapters["b"])
    small.pin("a", False)
    small.load_adapter("b", adapters["b"])
    assert small.loaded_adapters() == ["b", "d"]
    with pytest.raises(NotFound):
        small.pin("a")


def test_loading_is_idempotent_and_can_pin_later(small, adapters):
    small.load_adapter("a", adapters["a"])
    before = use(small, "a")
    small.load_adapter("a", adapters["a"], pin=True)
    assert small.pinned_adapters() == ["a"] and use(small, "a") == before


def test_an_adapter_in_use_is_not_evicted_and_unloading_it_lets_the_request_finish(small, adapters):
    small.load_adapter("a", adapters["a"])
    small.load_adapter("b", adapters["b"])
    expected = collect(small.submit(GenerationRequest(prompt="story", adapter="a", max_tokens=40, temperature=0)))
    running = small.submit(GenerationRequest(prompt="story", adapter="a", max_tokens=40, temperature=0))
    use(small, "b")  # a is now least recently used, but it is in use
    small.load_adapter("c", adapters["c"])
    assert small.loaded_adapters() == ["a", "c"]
    small.unload_adapter("a")
    assert small.loaded_adapters() == ["c"]
    with pytest.raises(NotFound):
        small.submit(GenerationRequest(prompt="hi", adapter="a"))
    finished = collect(running)
    assert (finished.text, finished.done) == (expected.text, expected.done)
    with pytest.raises(NotFound):
        small.unload_adapter("a")


def test_reloading_under_the_same_name_after_unload_gives_the_new_weights(small, adapters):
    small.load_adapter("x", adapters["a"])
    first = use(small, "x")
    small.unload_adapter("x")
    small.load_adapter("x", adapters["b"])
    small.load_adapter("b", adapters["b"])
    assert use(small, "x") == use(small, "b") != first
    assert small.base_loads == 1


def test_an_adapter_for_another_base_shape_is_rejected(small, tmp_path):
    other = build_tiny_model(tmp_path / "other", seed=0, hidden_size=32, num_layers=2)
    model, _ = mlx_lm.load(str(other))
    wrong = write_adapter(tmp_path / "wrong", model, seed=1)
    with pytest.raises(InvalidArgument) as caught:
        small.load_adapter("wrong", wrong)
    assert caught.value.param == "adapter" and "does not fit this base model" in caught.value.message
    assert "32" in caught.value.message and "64" in caught.value.message
    assert small.loaded_adapters() == []


def test_missing_or_malformed_adapters_are_clear_errors(small, adapters, tmp_path):
    with pytest.raises(NotFound) as missing:
        small.load_adapter("gone", tmp_path / "gone")
    assert missing.value.param == "directory"
    dora = tmp_path / "dora"
    config = adapter_format.read_adapter_config(adapters["a"]).model_copy(update={"fine_tune_type": "dora"})
    adapter_format.write_adapter(dora, adapter_format.load_adapter_tensors(adapters["a"]), config)
    with pytest.raises(InvalidArgument) as caught:
        small.load_adapter("dora", dora)
    assert caught.value.param == "adapter_config.json.fine_tune_type"
    with pytest.raises(InvalidArgument):
        small.load_adapter("", adapters["a"])
