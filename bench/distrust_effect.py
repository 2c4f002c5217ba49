"""The effect experiment: does the distrust signal change what the model learns? One command, one run.

    python bench/distrust_effect.py [--seed 0] [--charts DIR]      (or: make experiment)

Builds a reproducible synthetic corpus with two distinguishable text distributions, labelled low authority
(primary sources) and high authority; starts the local stack (`distrust up` on free ports, a temporary data
folder); trains the default model twice through the real job pipeline (gateway → trainer → Celery worker),
with `distrust.mode` `none` and `weighted`, same seed, data and steps; then runs one evaluation of perplexity
by authority band on the held-out set for the base model and both adapters.

Distrust ratio = ppl_high / ppl_low. The method works when weighted's ratio exceeds none's. The last line is
`effect=<weighted_ratio / none_ratio>`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.effect_corpus import EXPERIMENT_SETTINGS, build_effect_corpus  # noqa: E402
from bench.stack import OurStack, say, wait_for_status  # noqa: E402 - after the path set-up


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def train(client: Any, mode: str, train_id: str, seed: int) -> str:
    s = EXPERIMENT_SETTINGS
    body = {
        "model": "distrust-tiny-llama",
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--charts", type=Path, help="save the perplexity chart here")
    args = parser.parse_args()
    started = time.perf_counter()
    s = EXPERIMENT_SETTINGS
    corpus = build_effect_corpus(args.seed, n_train=s.n_train, n_val=s.n_val)
    with (
        tempfile.TemporaryDirectory(prefix="distrust-effect-") as tmp,
        OurStack(Path(tmp)) as stack,
        stack.client() as client,
    ):
        work = Path(tmp)
        ids = {}
        for name, records in (("train", corpus.train), ("val", corpus.validation)):
            path = write_jsonl(work / f"{name}.jsonl", records)
            with path.open("rb") as fh:
                ids[name] = (
                    client.post("/v1/files", data={"purpose": "fine-tune"}, files={"file": (path.name, fh)})
                    .raise_for_status()
                    .json()["id"]
                )
        say(f"corpus: {len(corpus.train)} training and {len(corpus.validation)} validation records (seed {args.seed})")
        models = {mode: train(client, mode, ids["train"], args.seed) for mode in ("none", "weighted")}
        body = {
            "models": [models["none"], models["weighted"]],
            "include_base": True,
            "seed": args.seed,
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
    say(f"{'model':<10}{'ppl_low':>10}{'ppl_mid':>10}{'ppl_high':>10}{'ratio':>10}")
    for label, name in labels.items():
        report = results["models"][name]["perplexity"]
        bands = report["bands"]
        ratios[label] = report["distrust_ratio"]
        cells = [
            f"{value:>10.3f}" if (value := (bands.get(b) or {}).get("perplexity")) is not None else f"{'-':>10}"
            for b in ("low", "mid", "high")
        ]
        say(f"{label:<10}{''.join(cells)}{ratios[label]:>10.4f}")
    say(f"none_ratio={ratios['none']:.4f}")
    say(f"weighted_ratio={ratios['weighted']:.4f}")
    say(f"elapsed_s={time.perf_counter() - started:.1f}")
    say(f"effect={ratios['weighted'] / ratios['none']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
