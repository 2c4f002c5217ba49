"""Run in a child process: train one LoRA step on a model and print the peak MLX memory next to the estimate.

    python -m tests.trainer.system.peak_of_steps MODEL_DIR CONFIG BATCH SEQ LAYERS

CONFIG is float32, bfloat16, qlora4 or checkpointed. A process of its own, so the peak is this run's alone.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

import mlx.core as mx

from services.trainer.core.config import TrainSettings
from services.trainer.core.precision import resolve_precision
from services.trainer.core.trainer import Trainer
from services.trainer.models.inspect import inspect_model
from services.trainer.system.memory import Savings, estimate_training_memory
from shared.schemas.fine_tuning import ADAPTER_DTYPE, DTYPE_BYTES, LoraSpec, ResolvedHyperparameters

CONFIGS: dict[str, dict[str, object]] = {
    "float32": {"precision": "float32"},
    "bfloat16": {"precision": "bfloat16"},
    "qlora4": {"precision": "float32", "quantize_base": 4},
    "checkpointed": {"precision": "float32", "gradient_checkpointing": True},
}
WORDS = ("the", "river", "was", "measured", "at", "dawn", "in", "the", "field", "notebook", "of", "the", "survey")


def measure(model: Path, config: str, batch: int, seq: int, layers: int) -> dict[str, float]:
    rng = random.Random(0)
    rows = [
        {"text": " ".join(rng.choice(WORDS) for _ in range(2 * seq)), "auth_weight": 0.3, "prov_entropy": 5.0}
        for _ in range(batch)
    ]
    hp = ResolvedHyperparameters(
        n_epochs=1, batch_size=batch, learning_rate=1e-4, max_seq_length=seq, max_steps=1, **CONFIGS[config]
    )
    lora = LoraSpec(rank=8, alpha=16.0, layers=layers)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "train.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        list(Trainer(TrainSettings(model_path=model, train_path=data, lora=lora, hyperparameters=hp)).run())
    dtype = resolve_precision(hp.precision)
    estimate = estimate_training_memory(
        inspect_model(model),
        lora_rank=lora.rank,
        lora_layers=layers,
        lora_keys=lora.keys,
        batch_size=batch,
        seq_len=seq,
        dtype_bytes=DTYPE_BYTES[dtype],
        savings=Savings(
            quantize_bits=hp.quantize_base,
            checkpointing=hp.gradient_checkpointing,
            adapter_dtype_bytes=DTYPE_BYTES[ADAPTER_DTYPE[dtype]],
        ),
    )
    # The fixed overhead is the interpreter and libraries: memory MLX never allocates, so not in its peak.
    return {"peak": mx.get_peak_memory(), "estimate": estimate.total_bytes - estimate.overhead_bytes}


if __name__ == "__main__":
    path, name, *sizes = sys.argv[1:]
    batch_size, seq_len, n_layers = (int(v) for v in sizes)
    sys.stdout.write(json.dumps(measure(Path(path), name, batch_size, seq_len, n_layers)) + "\n")
