"""Constrained decoding throughput: `response_format` json_schema against free decoding, same prompts, one run.

    python bench/structured.py [--model smollm2|DIR] [--requests N] [--max-tokens T] [--rounds R]

N concurrent chat requests on the engine in this process (the inference service's engine), greedy, each case
the best of R rounds: free text, then the same requests with a JSON Schema (an object of a string, a number, a
boolean and an enum). Printed: generated tokens/s of each and the last line `ratio=<json tok/s ÷ free tok/s>`
(goal ≥ 0.8). Every constrained output is parsed and validated (or cut by max_tokens, which is counted).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.real_model import resolve_model
from services.inference.engine import Engine, GenerationRequest
from services.inference.engine.constraints import ResponseFormat

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 60},
        "year": {"type": "integer"},
        "archived": {"type": "boolean"},
        "kind": {"enum": ["letter", "diary", "report"]},
    },
    "required": ["title", "year", "archived", "kind"],
    "additionalProperties": False,
}
TOPICS = ["a letter", "a diary", "a survey report", "a field notebook", "a town record", "a mill ledger"]


def _requests(n: int, max_tokens: int, constrained: bool) -> list[GenerationRequest]:
    fmt = (
        ResponseFormat(type="json_schema", schema=SCHEMA, name="doc", strict=True) if constrained else ResponseFormat()
    )
    return [
        GenerationRequest(
            messages=[{"role": "user", "content": f"Describe {TOPICS[i % len(TOPICS)]} from 1850 as JSON."}],
            max_tokens=max_tokens,
            temperature=0.0,
            response_format=fmt,
        )
        for i in range(n)
    ]


def _run(engine: Engine, requests: list[GenerationRequest]) -> tuple[float, int, list[tuple[str, str]]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(len(requests)) as pool:
        results = list(pool.map(lambda r: engine.submit(r).texts()[0], requests))
    seconds = time.perf_counter() - start
    return seconds, sum(done.completion_tokens for _, done in results), [(t, d.finish_reason) for t, d in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        model = resolve_model(args.model, Path(work), variant="float32")
        with Engine(model.path, max_batch_size=args.requests) as engine:
            _run(
                engine, _requests(2, 4, True)
            )  # builds llguidance's tokenizer once (~1 s), as a server's first request
            best: dict[bool, tuple[float, int, list[tuple[str, str]]]] = {}
            for _ in range(args.rounds):
                for constrained in (False, True):
                    run = _run(engine, _requests(args.requests, args.max_tokens, constrained))
                    if constrained not in best or run[1] / run[0] > best[constrained][1] / best[constrained][0]:
                        best[constrained] = run
    cut = 0
    for text, reason in best[True][2]:
        if reason == "length":
            cut += 1
        else:
            jsonschema.validate(json.loads(text), SCHEMA)
    free, constrained = (best[k][1] / best[k][0] for k in (False, True))
    print(f"model: {model.label}; {args.requests} concurrent greedy chats, max_tokens {args.max_tokens}")
    print(f"free decoding:       {free:8.1f} tok/s ({best[False][1]} tokens)")
    print(
        f"json_schema decoding: {constrained:8.1f} tok/s ({best[True][1]} tokens; {cut} cut by max_tokens, rest valid)"
    )
    print(f"ratio={constrained / free:.3f}")


if __name__ == "__main__":
    main()
