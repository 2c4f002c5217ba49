"""Prefix cache: a shared prompt prefix is prefilled once, reused per base/adapter, evicted least recently used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.inference.engine import Engine, GenerationRequest
from services.inference.engine.prefix_cache import PrefixCacheSize

BLOCK = 16


def system_prompt(engine: Engine, tokens: int, tag: str = "") -> str:
    """A prompt of at least `tokens` tokens; different tags give prompts that differ from their first token."""
    words: list[str] = []
    while engine.count_tokens(GenerationRequest(prompt=" ".join(words) or "x")) < tokens:
        words.append(f"{tag}rule{len(words)}")
    return " ".join(words)


def greedy(engine: Engine, prompt: str, adapter: str | None = None, n: int = 1) -> list[str]:
    request = GenerationRequest(prompt=prompt, max_tokens=12, temperature=0, adapter=adapter, n=n)
    return [text for text, _ in engine.submit(request).texts()]


def prefilled(engine: Engine, prompt: str, adapter: str | None = None) -> tuple[int, int]:
    """(prompt tokens the model ran, prompt tokens) for one greedy request."""
    before = engine.stats().prefill_tokens
    greedy(engine, prompt, adapter)
    return engine.stats().prefill_tokens - before, engine.count_tokens(GenerationRequest(prompt=prompt))


@pytest.fixture(scope="module")
def cached(base_model: Path, adapters: dict[str, Path]) -> Iterator[Engine]:
    with Engine(base_model, max_batch_size=4, prefix_cache=PrefixCacheSize(64 * 2**20, BLOCK)) as eng:
        eng.load_adapter("a", adapters["a"])
        yield eng


@pytest.fixture(scope="module")
def uncached(base_model: Path, adapters: dict[str, Path]) -> Iterator[Engine]:
    with Engine(base_model, max_batch_size=4) as eng:
        eng.load_adapter("a", adapters["a"])
        yield eng


@pytest.mark.parametrize("adapter", [None, "a"])
def test_second_request_prefills_only_the_suffix_and_matches_the_uncached_tokens(
    cached: Engine, uncached: Engine, adapter: str | None
) -> None:
    system = system_prompt(cached, 200, tag=adapter or "")
    first, second = system + " First question?", system + " Another, longer question about the harbour?"
    computed, total = prefilled(cached, first, adapter)
    assert computed == total  # cold
    hits = cached.stats().prefix_hits
    computed, total = prefilled(cached, second, adapter)
    shared = cached.count_tokens(GenerationRequest(prompt=system)) - 1  # the system prompt's last token may merge
    reused = total - computed
    assert cached.stats().prefix_hits == hits + 1
    assert reused % BLOCK == 0 and shared - BLOCK < reused <= shared
    for prompt in (first, second):
        assert greedy(cached, prompt, adapter) == greedy(uncached, prompt, adapter)


def test_choices_on_a_warm_prefix_match_the_uncached_run(cached: Engine, uncached: Engine) -> None:
    prompt = system_prompt(cached, 120, tag="n") + " Which ships?"
    greedy(cached, prompt)
    assert greedy(cached, prompt, n=3) == greedy(uncached, prompt) * 3


def test_another_adapter_does_not_reuse_the_base_entries(cached: Engine) -> None:
    prompt = system_prompt(cached, 100, tag="iso")
    greedy(cached, prompt)
    computed, total = prefilled(cached, prompt, "a")
    assert computed == total
    computed, total = prefilled(cached, prompt, "a")
    assert computed < total


def test_least_recently_used_blocks_go_first_under_a_tiny_budget(base_model: Path) -> None:
    with Engine(base_model, prefix_cache=PrefixCacheSize(1, BLOCK)) as probe:
        greedy(probe, system_prompt(probe, BLOCK + 2))
        assert probe.stats().prefix_cache_bytes == 0  # a block over the whole budget is not kept
    with Engine(base_model, prefix_cache=PrefixCacheSize(2**30, BLOCK)) as sizing:
        greedy(sizing, system_prompt(sizing, BLOCK + 2))
        block_bytes = sizing.stats().prefix_cache_bytes
    assert block_bytes > 0
    budget = 6 * block_bytes
    with Engine(base_model, prefix_cache=PrefixCacheSize(budget, BLOCK)) as eng:
        a, b = system_prompt(eng, 4 * BLOCK + 2, tag="a"), system_prompt(eng, 4 * BLOCK + 2, tag="b")
        greedy(eng, a)
        computed, total = prefilled(eng, a)
        assert total - computed == 4 * BLOCK and eng.stats().prefix_evictions == 0  # a is cached whole
        greedy(eng, b)
        stats = eng.stats()
        assert stats.prefix_evictions == 2 and stats.prefix_cache_bytes == budget
        computed, total = prefilled(eng, b)
        assert total - computed == 4 * BLOCK
        # a's last two blocks went first; its first two still serve.
        computed, total = prefilled(eng, a)
        assert total - computed == 2 * BLOCK
