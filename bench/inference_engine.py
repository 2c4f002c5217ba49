"""Inference engine speed, in-process: single-request tokens/s and three 8-request concurrency cases.

    python bench/inference_engine.py [--model DIR] [--max-tokens N] [--requests R] [--rounds K] [--no-reference]

Without --model, the default tiny base model (`build_tiny_model`: 4 layers, hidden 256, float32) is built in a
temporary folder, with 4 random LoRA adapters (rank 8, mlx-lm's default keys, all layers) saved next to it in
mlx-lm's layout.

Measured (each case run K times, alternating with its reference, fastest kept; wall clock from the first submit to the last Done, each stream
read on its own thread as a server would):

* single: one greedy request, tokens/s, against `mlx_lm.stream_generate` on the same model and prompt;
* same-adapter: R concurrent greedy requests on one adapter;
* four-adapters: R concurrent greedy requests spread round-robin over 4 adapters;
* seeded: R concurrent seeded requests (temperature 0.8) on the base model.

The first two are greedy so that both sides generate exactly the same tokens (the engine's greedy output
equals mlx-lm's) and eos-ended rows do not make runs incomparable; mlx_lm.server batches greedy and
temperature requests alike, and the per-step sampling cost is the same order on both sides.

Seeded rows may end early on an eos token, so token counts can differ between the two sides; "per-token"
compares seconds per generated token. The reference column (skip with --no-reference) emulates in-process what `mlx_lm.server` does for each case,
without HTTP: one BatchGenerator batch for same-adapter requests; for four adapters, a model load per adapter
then a batch of that adapter's requests (its best case: requests arriving grouped by adapter); seeded
requests one after another (it does not batch them). The HTTP comparison against the real server is separate.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import mlx.core as mx  # noqa: E402
import mlx_lm  # noqa: E402
from mlx_lm.generate import BatchGenerator  # noqa: E402
from mlx_lm.sample_utils import make_sampler  # noqa: E402

from services.inference.engine import Done, Engine, GenerationRequest  # noqa: E402
from services.trainer.models.tiny import build_tiny_model  # noqa: E402
from tests.helpers.random_adapter import write_random_adapter  # noqa: E402

ADAPTERS = ("a0", "a1", "a2", "a3")
TOPICS = [
    "the harbour",
    "old maps",
    "a winter road",
    "the library",
    "river trade",
    "a lighthouse",
    "salt marshes",
    "the observatory",
    "a ferry crossing",
    "market day",
    "the archive",
    "a mountain pass",
]


def prompts(n: int) -> list[str]:
    return [f"Write a short note about {TOPICS[i % len(TOPICS)]} for visitor number {i}:" for i in range(n)]


def run_concurrently(engine: Engine, requests: Sequence[GenerationRequest]) -> tuple[float, int]:
    """Submit all, read each stream on its own thread; (seconds until the last Done, completion tokens)."""
    done: list[Done] = []
    lock = threading.Lock()

    def consume(handle) -> None:
        for item in handle:
            if isinstance(item, Done):
                with lock:
                    done.append(item)

    start = time.perf_counter()
    threads = [threading.Thread(target=consume, args=(engine.submit(r),)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(d.completion_tokens for d in done)


# ------------------------------------------------------------------------------------ mlx-lm reference


def reference_single(model, tokenizer, prompt: str, max_tokens: int) -> tuple[float, int]:
    start, n = time.perf_counter(), 0
    for _ in mlx_lm.stream_generate(model, tokenizer, prompt, max_tokens=max_tokens):
        n += 1
    return time.perf_counter() - start, n


def reference_batch(model, tokenizer, texts: Sequence[str], max_tokens: int, temperature: float) -> tuple[float, int]:
    """What mlx_lm.server does for batchable requests on one model: one BatchGenerator, one sampler per request."""
    start = time.perf_counter()
    gen = BatchGenerator(model, stop_tokens=[[t] for t in tokenizer.eos_token_ids])
    ids = [tokenizer.encode(t) for t in texts]
    gen.insert(ids, [max_tokens] * len(ids), samplers=[make_sampler(temperature) for _ in ids])
    tokens = 0
    while responses := gen.next_generated():
        tokens += len(responses)
    gen.close()
    return time.perf_counter() - start, tokens


def reference_four_adapters(
    base: Path, adapters: dict[str, Path], texts: Sequence[str], max_tokens: int, tokenizer
) -> tuple[float, int]:
    start, tokens = time.perf_counter(), 0
    for k, name in enumerate(ADAPTERS):
        group = [t for i, t in enumerate(texts) if i % len(ADAPTERS) == k]
        model, _ = mlx_lm.load(str(base), adapter_path=str(adapters[name]))
        tokens += reference_batch(model, tokenizer, group, max_tokens, 0.0)[1]
    return time.perf_counter() - start, tokens


def reference_seeded(model, tokenizer, texts: Sequence[str], max_tokens: int) -> tuple[float, int]:
    start, tokens = time.perf_counter(), 0
    for seed, text in enumerate(texts):
        mx.random.seed(seed)
        tokens += sum(
            1 for _ in mlx_lm.stream_generate(model, tokenizer, text, max_tokens=max_tokens, sampler=make_sampler(0.8))
        )
    return time.perf_counter() - start, tokens


# ------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        base = args.model or build_tiny_model(Path(tmp) / "base", seed=0)
        ref_model, tokenizer = mlx_lm.load(str(base))
        adapters = {
            name: write_random_adapter(Path(tmp) / name, ref_model, seed=i + 1) for i, name in enumerate(ADAPTERS)
        }
        texts = prompts(args.requests)
        n, rounds = args.max_tokens, args.rounds
        print(f"model: {base} | requests: {args.requests} | max_tokens: {n} | best of {rounds} rounds")

        with Engine(base, max_batch_size=max(8, args.requests), adapter_cache_size=8) as engine:
            for name, path in adapters.items():
                engine.load_adapter(name, path)
            adapter_model, _ = mlx_lm.load(str(base), adapter_path=str(adapters[ADAPTERS[0]]))
            ours: dict[str, Callable[[], tuple[float, int]]] = {
                "single": lambda: run_concurrently(
                    engine, [GenerationRequest(prompt=texts[0], max_tokens=n, temperature=0)]
                ),
                "same-adapter": lambda: run_concurrently(
                    engine,
                    [GenerationRequest(prompt=t, adapter=ADAPTERS[0], max_tokens=n, temperature=0) for t in texts],
                ),
                "four-adapters": lambda: run_concurrently(
                    engine,
                    [
                        GenerationRequest(prompt=t, adapter=ADAPTERS[i % 4], max_tokens=n, temperature=0)
                        for i, t in enumerate(texts)
                    ],
                ),
                "seeded": lambda: run_concurrently(
                    engine,
                    [GenerationRequest(prompt=t, max_tokens=n, temperature=0.8, seed=i) for i, t in enumerate(texts)],
                ),
            }
            theirs: dict[str, Callable[[], tuple[float, int]]] = {
                "single": lambda: reference_single(ref_model, tokenizer, texts[0], n),
                "same-adapter": lambda: reference_batch(adapter_model, tokenizer, texts, n, 0.0),
                "four-adapters": lambda: reference_four_adapters(base, adapters, texts, n, tokenizer),
                "seeded": lambda: reference_seeded(ref_model, tokenizer, texts, n),
            }
            # Warm-up, then rounds alternating engine and reference so both see the same machine state.
            run_concurrently(
                engine,
                [
                    GenerationRequest(prompt=t, max_tokens=8, adapter=a)
                    for t, a in zip(texts, [None, *ADAPTERS], strict=False)
                ],
            )
            if not args.no_reference:
                reference_single(ref_model, tokenizer, texts[0], 8)
                reference_batch(adapter_model, tokenizer, texts[:2], 8, 0.8)
            cases: dict[str, tuple[float, int]] = {}
            reference: dict[str, tuple[float, int]] = {}
            for case in ours:
                runs, ref_runs = [], []
                for _ in range(rounds):
                    runs.append(ours[case]())
                    if not args.no_reference:
                        ref_runs.append(theirs[case]())
                cases[case] = min(runs, key=lambda r: r[0])
                if ref_runs:
                    reference[case] = min(ref_runs, key=lambda r: r[0])
            stats = engine.stats()
            assert engine.base_loads == 1

        print(
            f"{'case':<15}{'engine s':>10}{'tokens':>8}{'tok/s':>9}   {'mlx-lm s':>9}{'tokens':>8}{'tok/s':>9}"
            f"{'time ratio':>12}{'per-token':>11}"
        )
        for case, (seconds, tokens) in cases.items():
            line = f"{case:<15}{seconds:>10.3f}{tokens:>8}{tokens / seconds:>9.0f}"
            if case in reference:
                ref_s, ref_tokens = reference[case]
                per_token = (seconds / tokens) / (ref_s / ref_tokens)
                line += f"   {ref_s:>9.3f}{ref_tokens:>8}{ref_tokens / ref_s:>9.0f}{seconds / ref_s:>12.2f}{per_token:>11.2f}"
            print(line)
        print(
            f"engine: {stats.steps} decode steps, {stats.generated_tokens} tokens, peak batch {stats.peak_batch}, "
            f"base loads {engine.base_loads}"
        )
        single_s, single_tokens = cases["single"]
        print(f"single_tokens_per_s={single_tokens / single_s:.0f}")


if __name__ == "__main__":
    main()
