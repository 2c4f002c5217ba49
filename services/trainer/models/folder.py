"""A model folder on disk: which files make it a model, its weight files and its fingerprint."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shared.errors import FailedPrecondition, invalid_field

CONFIG_FILE = "config.json"
WEIGHTS_GLOB = "model*.safetensors"  # what mlx_lm.load reads: one file or model-0000x-of-0000y shards
CHUNK = 1 << 20


def require_model_folder(path: Path) -> list[Path]:
    """The weight files of the model folder `path`.

    Raises InvalidArgument when `path` is no folder, FailedPrecondition naming the file that is missing.
    """
    if not path.exists():
        raise invalid_field("model_path", str(path), "an existing model folder")
    if not path.is_dir():
        raise invalid_field("model_path", str(path), "a folder (config.json, model.safetensors, tokenizer files)")
    if not (path / CONFIG_FILE).is_file():
        raise FailedPrecondition(f"{path} is not a model folder: {CONFIG_FILE} is missing", param="model")
    weights = sorted(p for p in path.glob(WEIGHTS_GLOB) if p.is_file())
    if not weights:
        raise FailedPrecondition(
            f"{path} is not a model folder: model.safetensors (or model-*-of-*.safetensors shards) is missing",
            param="model",
        )
    return weights


def model_files(path: Path) -> list[Path]:
    """Every regular file under `path`, sorted; hidden ones (temporary files, markers) are not the model's."""
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def model_fingerprint(path: Path) -> str:
    """sha256 (hex) over the relative name and content of every file of the model folder `path`.

    Two folders have the same fingerprint exactly when they hold the same files with the same bytes.
    """
    if not path.is_dir():
        raise invalid_field("model_path", str(path), "an existing model folder")
    digest = hashlib.sha256()
    for file in model_files(path):
        content = hashlib.sha256()
        with file.open("rb") as f:
            while chunk := f.read(CHUNK):
                content.update(chunk)
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + content.digest())
    return digest.hexdigest()


def bytes_on_disk(path: Path) -> int:
    """The summed size of the model folder's files."""
    return sum(p.stat().st_size for p in model_files(path))
