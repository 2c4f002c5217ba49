"""Load on the whole stack: chats and reads at concurrency, and one rate-limited key among others, one run.

    python bench/load.py [--chats 200] [--chat-concurrency 16] [--reads 500] [--read-concurrency 32]

Starts the local stack (`distrust up` on free ports, a temporary data folder, the tiny model) and measures:
  1. `--chats` chat completions (8 tokens each) through the gateway at `--chat-concurrency`, and the same
     requests straight to the inference service over gRPC (the peer: what the gateway adds);
  2. `--reads` mixed reads (model list, one model, file list, one file, job list, /readyz) at
     `--read-concurrency`;
  3. the same chats from two keys at once, one of them limited to `--limited-rpm` requests a minute: the
     limited key gets 429s (each with Retry-After and x-ratelimit headers), the other none.
Each phase prints its p50 / p99 latency and its errors; the last line is
`errors=<n> chat_p50_s=… chat_p99_s=… reads_p50_s=… reads_p99_s=… limited_429=… other_429=…
gateway_vs_grpc_p50_ratio=…`. The exit status is 1 when any request failed unexpectedly (a 5xx, a reset, a 429
for the unlimited key, or no 429 for the limited one).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.real_model import TINY  # noqa: E402 - after the path set-up
from bench.stack import OurStack, say  # noqa: E402
from shared.pb.distrust.inference.v1 import inference_pb2 as pb  # noqa: E402
from shared.pb.distrust.inference.v1 import inference_pb2_grpc as rpc  # noqa: E402

MESSAGE = "Summarise the surveyor's letter of 1871 in one line."
MAX_TOKENS = 8


@dataclass
class Phase:
    """What one phase's requests answered: latencies of the successes, and every status seen."""

    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def record(self, status: str, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == "200":
            self.latencies.append(seconds)

    def time(self, call: Callable[[], str]) -> None:
        """Make one call and record what it answered (a transport error by its type) and how long it took."""
        start = time.perf_counter()
        try:
            status = call()
        except (httpx.HTTPError, grpc.RpcError) as exc:
            status = type(exc).__name__
        self.record(status, time.perf_counter() - start)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def report(self) -> None:
        say(
            f"{self.name}: {sum(self.statuses.values())} requests, statuses {self.statuses}, "
            f"p50 {self.quantile(0.5):.3f} s, p99 {self.quantile(0.99):.3f} s"
        )


def run(phase: Phase, calls: list[Callable[[], str]], concurrency: int) -> Phase:
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(phase.time, calls))
    phase.report()
    return phase


def chat(client: httpx.Client, headers: dict[str, str] | None = None, seen: list[httpx.Response] | None = None) -> str:
    body = {"model": TINY, "messages": [{"role": "user", "content": MESSAGE}], "max_tokens": MAX_TOKENS}
    response = client.post("/v1/chat/completions", json=body, headers=headers)
    if seen is not None and response.status_code == 429:
        seen.append(response)
    return str(response.status_code)


def grpc_chat(stub: rpc.InferenceServiceStub) -> str:
    request = pb.GenerateRequest(
        owner="local",
        model=TINY,
        messages=pb.ChatMessages(messages=[pb.ChatMessage(role="user", content=MESSAGE)]),
        max_tokens=MAX_TOKENS,
    )
    for _ in stub.Generate(request, timeout=120):
        pass
    return "200"


def reads(client: httpx.Client, file_id: str, count: int) -> list[Callable[[], str]]:
    paths = ["/v1/models", f"/v1/models/{TINY}", "/v1/files", f"/v1/files/{file_id}", "/v1/fine_tuning/jobs"]
    paths.append("/readyz")

    def read(path: str) -> Callable[[], str]:
        def get() -> str:
            response = client.get(path)
            if response.status_code != 200:
                say(f"{path}: {response.status_code} {response.text[:300]}")  # what a failed read said, once seen
            return str(response.status_code)

        return get

    return [read(paths[i % len(paths)]) for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--chat-concurrency", type=int, default=16)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--read-concurrency", type=int, default=32)
    parser.add_argument("--limited-rpm", type=int, default=20, help="the rate-limited key's requests per minute")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="distrust-load-") as work, OurStack(Path(work)) as stack:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        with stack.client(timeout_s=120) as client, httpx.Client(base_url=client.base_url, limits=limits) as pooled:
            pooled.headers.update(client.headers)
            uploaded = client.post(
                "/v1/files", data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", b'{"text": "x"}\n')}
            )
            file_id = uploaded.raise_for_status().json()["id"]
            run(Phase("warm-up"), [lambda: chat(pooled)] * 4, 4)

            target = f"127.0.0.1:{stack.env['DISTRUST_INFERENCE_PORT']}"
            with grpc.insecure_channel(target) as channel:
                stub = rpc.InferenceServiceStub(channel)  # type: ignore[no-untyped-call]  # generated code
                direct = run(
                    Phase("chats over gRPC (peer)"), [lambda: grpc_chat(stub)] * args.chats, args.chat_concurrency
                )
            chats = run(Phase("chats via the gateway"), [lambda: chat(pooled)] * args.chats, args.chat_concurrency)
            mixed = run(Phase("mixed reads"), reads(pooled, file_id, args.reads), args.read_concurrency)

            created = client.post(
                "/v1/api_keys",
                json={"name": "limited", "scopes": ["inference"], "limits": {"requests_per_minute": args.limited_rpm}},
            )
            limited_key = {"Authorization": f"Bearer {created.raise_for_status().json()['value']}"}
            refusals: list[httpx.Response] = []
            other = Phase("unlimited key beside a limited one")
            limited = Phase("rate-limited key")
            calls: list[Callable[[], None]] = []
            for _ in range(args.chats // 2):
                calls.append(lambda: other.time(lambda: chat(pooled)))
                calls.append(lambda: limited.time(lambda: chat(pooled, limited_key, refusals)))
            with ThreadPoolExecutor(args.chat_concurrency) as pool:
                list(pool.map(lambda call: call(), calls))
            other.report()
            limited.report()

    well_formed = all(
        r.headers.get("retry-after") and r.headers.get("x-ratelimit-limit-requests") and r.json()["error"]["code"]
        for r in refusals
    )
    errors = sum(n for phase in (direct, chats, mixed, other) for s, n in phase.statuses.items() if s != "200")
    errors += sum(n for s, n in limited.statuses.items() if s not in ("200", "429"))
    limited_429 = limited.statuses.get("429", 0)
    errors += 0 if limited_429 and well_formed else 1
    say(json.dumps({"limited_statuses": limited.statuses, "refusal_headers_ok": well_formed}, sort_keys=True))
    say(
        f"errors={errors} chat_p50_s={chats.quantile(0.5):.3f} chat_p99_s={chats.quantile(0.99):.3f} "
        f"reads_p50_s={mixed.quantile(0.5):.3f} reads_p99_s={mixed.quantile(0.99):.3f} "
        f"limited_429={limited_429} other_429={other.statuses.get('429', 0)} "
        f"gateway_vs_grpc_p50_ratio={chats.quantile(0.5) / direct.quantile(0.5):.2f}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
