"""Random LoRA adapters in mlx-lm's layout for a given base: stand-ins for trained ones in tests and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import mlx.core as mx
from mlx.utils import tree_flatten


def make_random_adapter(base_dir: Path, target: Path, *, seed: int, rank: int = 4, layers: int = 2,
                        scale: float = 2.0, magnitude: float = 0.5) -> Path:
    """Non-zero LoRA weights (so adapters differ from the base and from each other), saved as mlx-lm saves them."""
    from mlx_lm import load
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model, _ = load(str(base_dir))
    model.freeze()
    config = {"rank": rank, "scale": scale, "dropout": 0.0}
    linear_to_lora_layers(model, layers, config)
    mx.random.seed(seed)
    weights = {k: mx.random.normal(v.shape) * magnitude for k, v in tree_flatten(model.trainable_parameters())}
    target.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(target / "adapters.safetensors"), weights)
    (target / "adapter_config.json").write_text(json.dumps({"fine_tune_type": "lora", "num_layers": layers,
                                                            "lora_parameters": config}))
    return target
