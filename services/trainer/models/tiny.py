"""The tiny test model: a small Llama with seeded random weights, built locally with no download.

Its weights are random, so it writes nonsense, but it is a real transformer in the Hugging Face layout that
`mlx_lm.load` opens unchanged, which is all training and serving need to run end to end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, TypedDict, Unpack

from services.trainer.models.architecture import LlamaShape, random_weights
from services.trainer.models.folder import model_fingerprint
from services.trainer.models.safetensors_format import write_file
from services.trainer.models.tokenizer import corpus_sha256, train_tokenizer, write_tokenizer_files
from shared.errors import FailedPrecondition

# Bump when the files built from the same arguments change, so stored copies are recognised as stale.
BUILDER_VERSION = 1
WEIGHTS_FILE = "model.safetensors"


class TinySizes(TypedDict, total=False):
    """The sizes a caller may choose for the tiny model; each one left out keeps LlamaShape's default."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    context_length: int


def build_tiny_model(path: Path, *, seed: int = 0, dtype: str = "float32", **sizes: Unpack[TinySizes]) -> Path:
    """Build the model into the folder `path` and return it; the same arguments give byte-identical files.

    The folder is written next to `path` and renamed into place, so readers never see half a model. An
    existing empty folder is replaced; one that already holds exactly this model is kept as it is; any other
    non-empty folder (or a file) raises FailedPrecondition rather than being overwritten.
    """
    path = Path(path)
    shape = LlamaShape(**sizes)
    shape.validate()
    if path.exists() and not path.is_dir():
        raise FailedPrecondition(f"{path} exists and is not a folder", param="path")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would make the model private to this user
    try:
        _write_model(staging, shape, seed=seed, dtype=dtype)
        _move_into_place(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _write_model(directory: Path, shape: LlamaShape, *, seed: int, dtype: str) -> None:
    weights = random_weights(shape, seed=seed, dtype=dtype)
    tokenizer = train_tokenizer(shape.vocab_size)
    ids = write_tokenizer_files(tokenizer, directory, context_length=shape.context_length)
    provenance = {
        "builder": "services.trainer.models.tiny",
        "builder_version": BUILDER_VERSION,
        "seed": seed,
        "corpus_sha256": corpus_sha256(),
    }
    config = shape.config(
        dtype=dtype,
        bos_token_id=ids.bos,
        eos_token_ids=ids.stop_ids,
        pad_token_id=ids.pad,
        extra={"distrust": provenance},
    )
    _write_json(directory / "config.json", config)
    _write_json(
        directory / "generation_config.json",
        {"bos_token_id": ids.bos, "eos_token_id": ids.stop_ids, "pad_token_id": ids.pad},
    )
    write_file(
        directory / WEIGHTS_FILE,
        weights,
        metadata={"format": "pt"},
        bfloat16=frozenset(weights) if dtype == "bfloat16" else frozenset(),
    )


def _move_into_place(staging: Path, path: Path) -> None:
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()
    try:
        os.rename(staging, path)
        return
    except OSError:
        if not path.is_dir():
            raise
    # Another builder got there first, or the folder was there already: fine if it holds the same model.
    if model_fingerprint(path) != model_fingerprint(staging):
        raise FailedPrecondition(f"{path} already holds different files; remove it or build elsewhere", param="path")


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
