"""DPO throughput: our PreferenceTrainer against mlx-lm-lora's DPO trainer (`train_dpo`), same run.

    python bench/dpo.py [--model DIR|smollm2] [--steps N] [--batch-size B] [--prompt-len P] [--answer-len A]

Both sides train the same model (float32) with the same LoRA (rank, scale, all layers, mlx-lm's default keys), the
same AdamW, sigmoid DPO with the same beta, on the same pairs (tokenized once by our pipeline: a prompt of P tokens
and two answers of A tokens, nothing cut, so neither side pads beyond the pair), with the same batch size (B pairs)
for the same number of optimizer steps (one epoch: N·B pairs). Each side runs in its own subprocess.

What differs is how each side gets its reference log-probabilities and scores a pair. mlx-lm-lora keeps a second,
frozen copy of the model and each step runs four forward passes (policy and reference, chosen and rejected); ours
scores the starting model once per pair before the first step (the reference: no second copy) and each step runs
one forward and backward pass over the 2B chosen-and-rejected rows.

Measured: wall clock of the whole run, from just before training to the end of its last step (our reference pass
and their compilation included), and of the steps after W warm-up steps. Tokens counted: the answer tokens of
both sides of every pair trained on (2·A·B per step), identical on both sides. With --rounds R each side runs R
times, alternating which goes first, and its fastest run counts. Peak memory: mx.get_peak_memory() from just before
training. The last line printed is exactly `ratio=<ours tokens/s ÷ mlx-lm-lora tokens/s>` (whole runs).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.train import SYLLABLES  # noqa: E402  # after the path set-up above
from bench.worker_process import run_side  # noqa: E402

BETA = 0.1
LEARNING_RATE = 1e-5


def write_pairs(path: Path, *, n: int, words: int, seed: int = 0) -> Path:
    """n pairs of a prompt and two different answers, each `words` pseudo-words (cut to length later)."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(2000)]

    def text() -> str:
        return " ".join(rng.choice(vocab) for _ in range(words))

    with path.open("w") as fh:
        for _ in range(n):
            fh.write(json.dumps({"prompt": text(), "chosen": text(), "rejected": text()}) + "\n")
    return path


def tokenized(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each pair as prompt + answer token ids of exact lengths (P and A), shared by both sides."""
    import mlx_lm

    tokenizer = mlx_lm.load(args.model, lazy=True)[1]
    pairs = []
    for line in Path(args.data).read_text().splitlines():
        record = json.loads(line)
        prompt = tokenizer.encode(record["prompt"])[: args.prompt_len]
        chosen = tokenizer.encode(" " + record["chosen"], add_special_tokens=False)[: args.answer_len]
        rejected = tokenizer.encode(" " + record["rejected"], add_special_tokens=False)[: args.answer_len]
        pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return pairs


def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    import mlx.core as mx
    import numpy as np

    from services.trainer.core.config import TrainSettings
    from services.trainer.core.data import Example
    from services.trainer.core.pairs import PreferencePair
    from services.trainer.core.preference_trainer import PreferenceTrainer
    from shared.schemas.fine_tuning import DistrustSpec, LoraSpec, PreferenceSpec, ResolvedHyperparameters

    pairs = tokenized(args)
    settings = TrainSettings(
        model_path=Path(args.model),
        train_path=Path(args.pairs_file),
        seed=0,
        hyperparameters=ResolvedHyperparameters(
            n_epochs=1,
            batch_size=args.batch_size,
            learning_rate=LEARNING_RATE,
            max_seq_length=args.prompt_len + args.answer_len + 1,
            max_grad_norm=0.0,
        ),
        distrust=DistrustSpec(mode="none"),
        lora=LoraSpec(rank=args.rank, alpha=args.alpha),
    )
    trainer = PreferenceTrainer(settings, PreferenceSpec(loss="sigmoid", beta=BETA))

    def side(prompt: list[int], answer: list[int], line: int) -> Example:
        tokens = np.array(prompt + answer, dtype=np.int32)
        mask = np.zeros(len(tokens) - 1, dtype=np.float32)
        mask[len(prompt) - 1 :] = 1.0
        return Example(tokens=tokens, mask=mask, line=line)

    # the same token ids as the peer's (the file's own tokenization is replaced, pair for pair)
    trainer.pairs = [
        PreferencePair(side(p["prompt"], p["chosen"], i), side(p["prompt"], p["rejected"], i), i)
        for i, p in enumerate(pairs)
    ]
    trainer.weights = np.ones(len(pairs), dtype=np.float32)
    mx.reset_peak_memory()
    started = time.perf_counter()
    stamps: list[float] = []
    tokens: list[int] = []
    for report in trainer.run():
        stamps.append(time.perf_counter())
        tokens.append(report.tokens)
    return {"started": started, "stamps": stamps, "tokens": tokens, "peak_gb": mx.get_peak_memory() / 1e9}


class _Pairs:
    """mlx-lm-lora's preference dataset protocol over the shared token ids."""

    def __init__(self, pairs: list[dict[str, Any]]) -> None:
        self.items = [
            {
                "chosen": p["prompt"] + p["chosen"],
                "rejected": p["prompt"] + p["rejected"],
                "chosen_prompt_length": len(p["prompt"]),
                "rejected_prompt_length": len(p["prompt"]),
            }
            for p in pairs
        ]

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return self.items[idx]

    def __len__(self) -> int:
        return len(self.items)


def run_peer(args: argparse.Namespace) -> dict[str, Any]:
    import mlx.core as mx
    import mlx.optimizers as optim
    import mlx_lm
    from mlx_lm.tuner.callbacks import TrainingCallback
    from mlx_lm.tuner.utils import linear_to_lora_layers
    from mlx_lm_lora.trainer.dpo_trainer import DPOTrainingArgs, train_dpo

    info = mx.device_info()
    if "max_recommended_working_set_size" not in info:  # MLX's CPU backend reports no Metal working set
        mx.device_info = lambda: {**info, "max_recommended_working_set_size": 0}
    pairs = tokenized(args)
    model = mlx_lm.load(args.model)[0]
    reference = mlx_lm.load(args.model)[0]
    model.set_dtype(mx.float32)
    reference.set_dtype(mx.float32)
    reference.freeze()
    mx.random.seed(0)
    model.freeze()
    linear_to_lora_layers(
        model, len(model.layers), {"rank": args.rank, "scale": args.alpha / args.rank, "dropout": 0.0}
    )
    optimizer = optim.AdamW(learning_rate=LEARNING_RATE, weight_decay=0.0)
    stamps: list[float] = []
    tokens: list[int] = []

    class Clock(TrainingCallback):
        def on_train_loss_report(self, info: dict[str, Any]) -> None:  # noqa: ARG002  # mlx-lm's hook signature
            stamps.append(time.perf_counter())
            tokens.append(2 * args.answer_len * args.batch_size)

    mx.reset_peak_memory()
    started = time.perf_counter()
    train_dpo(
        model,
        reference,
        optimizer,
        _Pairs(pairs),
        None,
        DPOTrainingArgs(
            batch_size=args.batch_size,
            iters=args.steps,
            steps_per_report=1,
            steps_per_eval=10**9,
            steps_per_save=10**9,
            max_seq_length=args.prompt_len + args.answer_len + 1,
            adapter_file=str(Path(args.workdir) / "peer_adapters.safetensors"),
            beta=BETA,
        ),
        training_callback=Clock(),
        loss_type="sigmoid",
    )
    return {"started": started, "stamps": stamps, "tokens": tokens, "peak_gb": mx.get_peak_memory() / 1e9}


def rates(result: dict[str, Any], warmup: int) -> tuple[float, float, float]:
    """(whole-run tokens/s, steady tokens/s after `warmup` steps, whole-run seconds)."""
    stamps, tokens = result["stamps"], result["tokens"]
    whole = stamps[-1] - result["started"]
    steady = stamps[-1] - stamps[warmup - 1]
    return sum(tokens) / whole, sum(tokens[warmup:]) / steady, whole


def spawn(side: str, args: argparse.Namespace, model: Path, data: Path, workdir: Path) -> dict[str, Any]:
    flags = ["--model", str(model), "--data", str(data), "--workdir", str(workdir), "--steps", str(args.steps)]
    flags += ["--batch-size", str(args.batch_size), "--prompt-len", str(args.prompt_len)]
    flags += ["--answer-len", str(args.answer_len), "--rank", str(args.rank), "--alpha", str(args.alpha)]
    return run_side(__file__, side, flags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model folder, or `smollm2` (default: a random tiny Llama)")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--prompt-len", type=int, default=48)
    parser.add_argument("--answer-len", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=4, help="steps left out of the steady-state figure")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", choices=("ours", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.pairs_file = str(Path(args.workdir) / "pairs-ours.jsonl")
        if args.worker == "ours":  # as many short pairs for the trainer to open; replaced by the shared token ids
            n = len(Path(args.data).read_text().splitlines())
            row = json.dumps({"prompt": "q", "chosen": "yes", "rejected": "no"}) + "\n"
            Path(args.pairs_file).write_text(row * n)
        print(json.dumps(run_ours(args) if args.worker == "ours" else run_peer(args)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-dpo-") as tmp:
        workdir = Path(tmp)
        from bench.real_model import resolve_model

        chosen = resolve_model(args.model, workdir, variant="float32")
        data = write_pairs(workdir / "pairs.jsonl", n=args.steps * args.batch_size, words=args.answer_len * 2)
        best: dict[str, tuple[float, float, float, dict[str, Any]]] = {}
        for round_ in range(args.rounds):
            for side in ("ours", "peer") if round_ % 2 == 0 else ("peer", "ours"):
                result = spawn(side, args, chosen.path, data, workdir)
                whole, steady, seconds = rates(result, args.warmup)
                if side not in best or whole > best[side][0]:
                    best[side] = (whole, steady, seconds, result)
    print(
        f"model: {chosen.label}; {args.steps} steps of {args.batch_size} pairs (prompt {args.prompt_len} + answers "
        f"{args.answer_len} tokens), LoRA rank {args.rank} on all layers, sigmoid DPO beta {BETA}; counted: answer "
        f"tokens of both sides (2 x {args.answer_len} x {args.batch_size} per step)"
    )
    for side, label in (("ours", "ours"), ("peer", "mlx-lm-lora")):
        whole, steady, seconds, result = best[side]
        print(
            f"{label:12s} tokens/s={whole:9.1f} (whole run, {seconds:.2f} s)  steady tokens/s={steady:9.1f}  "
            f"peak_memory_gb={result['peak_gb']:.3f}"
        )
    print(f"steady_ratio={best['ours'][1] / best['peer'][1]:.4f}")
    print(f"ratio={best['ours'][0] / best['peer'][0]:.4f}")


if __name__ == "__main__":
    main()
