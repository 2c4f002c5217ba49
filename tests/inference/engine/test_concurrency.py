"""Many callers at once: submits, cancels and adapter loads/unloads from several threads never hang or leak."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from services.inference.engine import Done, Engine, GenerationRequest
from shared.errors import NotFound
from tests.inference.engine.streams import collect


def test_concurrent_submits_cancels_and_adapter_churn(base_model: Path, adapters: dict[str, Path]):
    results: list[Done] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    with Engine(base_model, max_batch_size=4, adapter_cache_size=3) as engine:
        engine.load_adapter("a", adapters["a"], pin=True)
        engine.load_adapter("b", adapters["b"])

        def client(k: int) -> None:
            rng = random.Random(k)
            for i in range(6):
                adapter = rng.choice(["a", "b", None])
                request = GenerationRequest(
                    prompt=f"client {k} request {i}",
                    adapter=adapter,
                    max_tokens=rng.randint(1, 24),
                    temperature=rng.choice([0.0, 0.9]),
                    seed=rng.choice([None, i]),
                    stop=rng.choice([(), ("e",)]),
                )
                try:
                    handle = engine.submit(request)
                except NotFound:  # "b" was unloaded by the churn thread just then
                    continue
                if rng.random() < 0.3:
                    handle.cancel()
                done = collect(handle).done
                with lock:
                    results.append(done)

        def churn() -> None:
            for i in range(8):
                name = ["b", "c", "d"][i % 3]
                try:
                    engine.load_adapter(name, adapters[name])
                    engine.unload_adapter("b")
                except NotFound:  # "b" was already unloaded
                    pass
                except Exception as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        threads.append(threading.Thread(target=churn))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert not errors
        assert all(d.finish_reason in ("stop", "length", "cancelled") for d in results)
        assert engine.base_loads == 1 and "a" in engine.loaded_adapters()
        # Every hold on an adapter was given back: all unpinned ones can be evicted now.
        assert all(entry.users == 0 for entry in map(engine._adapters.get, engine.loaded_adapters()) if entry)
        assert collect(engine.submit(GenerationRequest(prompt="still fine", adapter="a", max_tokens=3))).done
