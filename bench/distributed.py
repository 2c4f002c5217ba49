"""Data-parallel training throughput: 1 rank against 2 ranks on this machine (MLX's ring backend over 127.0.0.1),
and a model of scaling to N hosts from the measured all-reduce.

    python bench/distributed.py [--model smollm2|DIR] [--steps 8] [--batch-size 8] [--seq-len 128] [--warmup 2]

Both runs train the same model (float32, LoRA rank 8 on every layer) on the same records with the same global
batch and seed: one process alone, then two processes of one ring, each taking half of every batch
(services/trainer/core/distributed.py). Tokens/s: the loss tokens of steps `warmup`+1 … `steps` over their wall
time (the slowest rank's). Honest reading: both ranks share this machine's cores, so 2 ranks here measure the
cost of the protocol, not a second machine's speed.

The all-reduce of the LoRA gradient (its real size) is timed alone on the ring (median of 20). The model of N
hosts: step(N) = compute(1) / N + allreduce(N), with ring all-reduce time = 2 (N − 1) / N · bytes / bandwidth +
2 (N − 1) · latency; bandwidth and latency are those measured on loopback and, for comparison, 10 GbE
(1.25 GB/s, 50 µs) and Thunderbolt 5 with JACCL (8 GB/s, 10 µs). The last line is `ratio=<2 ranks ÷ 1 rank>`.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.real_model import resolve_model  # noqa: E402
from bench.stack import free_port, say  # noqa: E402

LINKS = {"10 GbE": (1.25e9, 50e-6), "Thunderbolt 5 (JACCL)": (8e9, 10e-6)}


def _records(n: int, seq_chars: int) -> list[dict[str, Any]]:
    words = [
        "the",
        "river",
        "gauge",
        "read",
        "two",
        "metres",
        "at",
        "dawn",
        "said",
        "the",
        "field",
        "notebook",
        "of",
        "the",
        "miller",
    ]
    rows = []
    for i in range(n):
        text = " ".join(words[(i + j) % len(words)] for j in range(seq_chars // 4))
        rows.append({"text": f"Record {i}: {text}", "auth_weight": 0.1 + 0.8 * (i % 5) / 5, "prov_entropy": 5.0})
    return rows


def _settings(model: Path, work: Path, args: argparse.Namespace) -> Any:
    from services.trainer.core.config import TrainSettings
    from shared.schemas.fine_tuning import DistrustSpec, LoraSpec, ResolvedHyperparameters

    train = work / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in _records(args.batch_size * args.steps, args.seq_len * 4)))
    return TrainSettings(
        model_path=model,
        train_path=train,
        val_path=None,
        distrust=DistrustSpec(),
        lora=LoraSpec(rank=8, alpha=16.0),
        seed=0,
        hyperparameters=ResolvedHyperparameters(
            n_epochs=1, batch_size=args.batch_size, learning_rate=1e-4, max_seq_length=args.seq_len
        ),
    )


def rank_main(settings_path: str, hosts: str, rank: int, warmup: int, out: str) -> None:
    """One rank (or the lone run when `hosts` is empty): train, time the steps, time the all-reduce."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    from services.trainer.core import distributed
    from services.trainer.core.trainer import Trainer

    settings = pickle.loads(Path(settings_path).read_bytes())  # written by this bench
    group = distributed.join(hosts.split(","), rank, Path(out) / f"rank-{rank}") if hosts else None
    trainer = Trainer(settings, group=group)
    stamps, tokens = [], []
    for report in trainer.run():
        stamps.append(time.perf_counter())
        tokens.append(report.tokens)
    result: dict[str, Any] = {
        "seconds": stamps[-1] - stamps[warmup - 1],
        "tokens": sum(tokens[warmup:]),
        "steps": len(stamps) - warmup,
    }
    grads = [g for _, g in tree_flatten(trainer.model.trainable_parameters())]
    result["gradient_bytes"] = sum(g.nbytes for g in grads)
    if group is not None:
        result["allreduce_s"] = _median_seconds(lambda: mx.eval(distributed.all_sum(grads, group)))
        result["latency_s"] = _median_seconds(lambda: mx.eval(distributed.all_sum([mx.zeros((1,))], group)))
    Path(out, f"result-{rank}.json").write_text(json.dumps(result))


def _median_seconds(call: Any, runs: int = 20) -> float:
    """The median wall time of `call()` over `runs` runs, after two unmeasured ones."""
    times = []
    for i in range(runs + 2):
        tic = time.perf_counter()
        call()
        if i >= 2:
            times.append(time.perf_counter() - tic)
    return statistics.median(times)


def _run(settings_file: Path, work: Path, ranks: int, warmup: int) -> list[dict[str, Any]]:
    hosts = ",".join(f"127.0.0.1:{free_port()}" for _ in range(ranks)) if ranks > 1 else ""
    out = work / f"ranks-{ranks}"
    out.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--rank-of", str(settings_file), hosts, str(r), str(warmup), str(out)],
            cwd=ROOT,
        )
        for r in range(ranks)
    ]
    for proc in procs:
        if proc.wait(timeout=3600) != 0:
            raise SystemExit(f"a rank of the {ranks}-rank run failed (exit {proc.returncode})")
    return [json.loads((out / f"result-{r}.json").read_text()) for r in range(ranks)]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--rank-of":
        settings_path, hosts, rank, warmup, out = sys.argv[2:7]
        rank_main(settings_path, hosts, int(rank), int(warmup), out)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2", help="smollm2 (default), distrust-tiny-llama, or a folder")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        work = Path(tmp)
        model = resolve_model(args.model, work, variant="float32")
        settings_file = work / "settings.pkl"
        settings_file.write_bytes(pickle.dumps(_settings(model.path, work, args)))
        say(f"model: {model.label}; global batch {args.batch_size} x {args.seq_len} tokens, {args.steps} steps")
        alone = _run(settings_file, work, 1, args.warmup)[0]
        pair = _run(settings_file, work, 2, args.warmup)
    one = alone["tokens"] / alone["seconds"]
    two = pair[0]["tokens"] / max(r["seconds"] for r in pair)
    compute = alone["seconds"] / alone["steps"]
    size = pair[0]["gradient_bytes"]
    reduce_s, small_s = pair[0]["allreduce_s"], pair[0]["latency_s"]
    latency = small_s / 2  # a ring of 2: two hops of latency per all-reduce
    loopback = size / (reduce_s - small_s) if reduce_s > small_s else float("inf")  # the bytes' own time
    say(f"1 rank : {one:8.1f} tokens/s ({compute:.3f} s per step)")
    say(f"2 ranks: {two:8.1f} tokens/s on the same cores (each rank takes half of every batch)")
    shown = "latency-bound" if loopback == float("inf") else f"about {loopback / 1e9:.2f} GB/s"
    say(
        f"LoRA gradient {size / 1e6:.2f} MB; all-reduce over the loopback ring {reduce_s * 1e3:.2f} ms "
        f"(a 4-byte one {small_s * 1e3:.2f} ms; {shown})"
    )
    say("model of N hosts (one rank each, this step's compute split N ways):")
    links = {"loopback (measured)": (loopback, latency), **LINKS}
    say(f"{'N':>3}" + "".join(f"{name:>26}" for name in links))
    for n in (1, 2, 4, 8):
        cells = []
        for bandwidth, lat in links.values():
            reduce_n = 0.0 if n == 1 else 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * lat
            cells.append(f"{compute / (compute / n + reduce_n):>20.2f}x spd")
        say(f"{n:>3}" + "".join(f"{c:>26}" for c in cells))
    say(f"ratio={two / one:.3f}")


if __name__ == "__main__":
    main()
