"""Batch API throughput against the same requests sent concurrently over HTTP, on one running stack.

    python bench/batch.py [--model smollm2] [--requests 256] [--concurrency 16] [--max-tokens 16] [--rounds 2]

Starts the local stack (`distrust up` on free ports, a temporary data folder; the tiny model, or with
`--model smollm2` the default real model, SmolLM2-135M-Instruct). The same
`--requests` chat completions (temperature 0, a seed each) are answered twice:
  * over HTTP, `--concurrency` at a time (the way a client without the Batch API would send them): from the first
    request to the last answer;
  * as one batch through the `openai` SDK: from uploading the input file to having downloaded the output file
    (upload, queueing, the batch worker's `DISTRUST_BATCH_CONCURRENCY` requests in flight, finalizing, download).
    The engine gives interactive requests `DISTRUST_INFERENCE_MAX_BATCH_SIZE` rows per decode step and the batch's
    requests up to `DISTRUST_INFERENCE_BATCH_LANE_SIZE`: the batch's speed-up comes from those wider steps.
With --rounds R each side runs R times, alternating which goes first; its fastest run counts. The answers of both
are compared per request (the same seed and temperature 0 give the same text). The last line is exactly
`ratio=<batch requests/s ÷ HTTP requests/s>`.

A chat's latency is measured too, alone and while a batch runs (one chat at a time, the median): the batch lane
must not starve interactive requests.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.real_model import SMOLLM2, TINY  # noqa: E402 - after the path set-up
from bench.stack import OurStack, say  # noqa: E402
from services.trainer.models.names import DEFAULT_MODEL_NAME  # noqa: E402


def bodies(n: int, max_tokens: int, model: str) -> list[dict[str, Any]]:
    return [
        {
            "model": model,
            "messages": [{"role": "user", "content": f"Summarise letter {i} of the surveyor's archive."}],
            "max_tokens": max_tokens,
            "temperature": 0,
            "seed": i,
        }
        for i in range(n)
    ]


def over_http(client: httpx.Client, requests: list[dict[str, Any]], concurrency: int) -> tuple[float, list[str]]:
    def one(body: dict[str, Any]) -> str:
        response = client.post("/v1/chat/completions", json=body)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        texts = list(pool.map(one, requests))
    return time.perf_counter() - started, texts


def chat_seconds(client: httpx.Client, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    client.post("/v1/chat/completions", json=body).raise_for_status()
    return time.perf_counter() - started


def chats_until(client: httpx.Client, body: dict[str, Any], done: threading.Event) -> list[float]:
    """One chat after another until `done` (at least one); each one's seconds."""
    seconds = [chat_seconds(client, body)]
    while not done.is_set():
        seconds.append(chat_seconds(client, body))
    return seconds


def as_batch(stack: OurStack, requests: list[dict[str, Any]]) -> tuple[float, list[str]]:
    import openai

    sdk = openai.OpenAI(base_url=stack.base_url, api_key=stack.api_key, max_retries=0)
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": b}
        for i, b in enumerate(requests)
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    started = time.perf_counter()
    uploaded = sdk.files.create(file=("requests.jsonl", io.BytesIO(data)), purpose="batch")
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        time.sleep(0.1)
        batch = sdk.batches.retrieve(batch.id)
    if batch.status != "completed" or batch.output_file_id is None:
        raise SystemExit(f"batch {batch.id} ended {batch.status}: {batch.errors}")
    output = sdk.files.content(batch.output_file_id).text
    seconds = time.perf_counter() - started
    answers = {}
    for raw in output.splitlines():
        line = json.loads(raw)
        answers[line["custom_id"]] = line["response"]["body"]["choices"][0]["message"]["content"]
    return seconds, [answers[f"r{i}"] for i in range(len(requests))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=(TINY, SMOLLM2), default=TINY)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP requests in flight at once")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    model = DEFAULT_MODEL_NAME if args.model == SMOLLM2 else TINY
    requests = bodies(args.requests, args.max_tokens, model)
    probe = {**requests[0], "messages": [{"role": "user", "content": "Name one primary source."}], "seed": 7}
    best: dict[str, float] = {}
    texts: dict[str, list[str]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp,
        OurStack(Path(tmp), default_model=model) as stack,
        stack.client() as client,
    ):
        over_http(client, requests[: args.concurrency], args.concurrency)  # the model loaded, caches warm
        alone = [chat_seconds(client, probe) for _ in range(8)]
        done = threading.Event()
        with ThreadPoolExecutor(1) as pool:
            during_future = pool.submit(chats_until, client, probe, done)
            try:
                as_batch(stack, requests)
            finally:
                done.set()
            during = during_future.result()
        for round_ in range(args.rounds):
            for side in ("http", "batch") if round_ % 2 == 0 else ("batch", "http"):
                seconds, answers = (
                    over_http(client, requests, args.concurrency) if side == "http" else as_batch(stack, requests)
                )
                say(f"round {round_ + 1} {side}: {seconds:.2f} s")
                best[side] = min(best.get(side, seconds), seconds)
                texts[side] = answers
    differ = sum(a != b for a, b in zip(texts["http"], texts["batch"], strict=True))
    from services.gateway.batches.config import BatchSettings
    from services.inference.config import InferenceSettings

    engine = InferenceSettings()
    print(
        f"model: {model}; {args.requests} chat completions of up to {args.max_tokens} tokens, "
        f"temperature 0; HTTP at concurrency {args.concurrency}; batch with {BatchSettings().concurrency} in "
        f"flight; engine: {engine.max_batch_size} interactive rows, batch lane {engine.batch_lane_size} rows"
    )
    for side in ("http", "batch"):
        print(f"{side:6s} seconds={best[side]:.2f}  requests/s={args.requests / best[side]:.1f}")
    print(f"answers that differ between the two: {differ} of {args.requests}")
    print(
        f"a chat of up to {args.max_tokens} tokens: alone median {statistics.median(alone):.3f} s; while a batch "
        f"runs median {statistics.median(during):.3f} s (max {max(during):.3f} s, {len(during)} chats)"
    )
    print(f"ratio={best['http'] / best['batch']:.4f}")


if __name__ == "__main__":
    main()
