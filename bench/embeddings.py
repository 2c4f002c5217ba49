"""Embeddings per second: the engine's batched `embed` against the plain way, one text per forward pass.

    python bench/embeddings.py [--model smollm2|DIR] [--texts N] [--rounds R]

Both sides run in this process on the same model and texts (N sentences of 8 to 40 words) and compute the same
vectors (mean of the final hidden states, unit length; checked equal to 1e-4): the peer is mlx-lm's model called
on each text alone, the way a script without a server does it; ours is `Engine.embed`, which pads the texts
into batches on the engine's thread. Printed: inputs/s and tokens/s of each, the best of R rounds, and the last
line `ratio=<ours inputs/s ÷ peer inputs/s>`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.real_model import resolve_model  # the repository root is on the path only now
from services.inference.engine import Engine

WORDS = [
    "the",
    "river",
    "letter",
    "archive",
    "measured",
    "dawn",
    "survey",
    "field",
    "notebook",
    "witness",
    "wrote",
    "account",
    "town",
    "mill",
]


def _texts(n: int) -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40))) for _ in range(n)]


def _peer(model: object, tokenizer: object, texts: list[str]) -> np.ndarray:
    vectors = []
    for text in texts:
        ids = tokenizer.encode(text)  # type: ignore[attr-defined]
        hidden = model.model(mx.array([ids])).astype(mx.float32)[0].mean(axis=0)  # type: ignore[attr-defined]
        vectors.append(hidden / mx.linalg.norm(hidden))
    stacked = mx.stack(vectors)
    mx.eval(stacked)
    return np.array(stacked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="`smollm2`, a model folder, or the tiny random model")
    parser.add_argument("--texts", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = _texts(args.texts)
    with tempfile.TemporaryDirectory() as work:
        bench_model = resolve_model(args.model, Path(work), variant="float32")
        model, tokenizer = mlx_lm.load(str(bench_model.path))
        tokens = sum(len(tokenizer.encode(t)) for t in texts)
        with Engine(bench_model.path) as engine:
            ours_best = peer_best = float("inf")
            for _ in range(args.rounds):
                start = time.perf_counter()
                ours = np.array(engine.embed(texts).vectors)
                ours_best = min(ours_best, time.perf_counter() - start)
                start = time.perf_counter()
                peer = _peer(model, tokenizer, texts)
                peer_best = min(peer_best, time.perf_counter() - start)
    np.testing.assert_allclose(ours, peer, atol=1e-4)
    print(f"model: {bench_model.label}; {len(texts)} texts, {tokens} tokens; best of {args.rounds} rounds")
    print(f"ours (Engine.embed, batched):      {len(texts) / ours_best:8.1f} inputs/s {tokens / ours_best:9.0f} tok/s")
    print(f"peer (mlx-lm, one text per pass): {len(texts) / peer_best:8.1f} inputs/s {tokens / peer_best:9.0f} tok/s")
    print(f"ratio={peer_best / ours_best:.3f}")


if __name__ == "__main__":
    main()
