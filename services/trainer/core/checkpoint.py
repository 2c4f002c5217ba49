"""Checkpoints that resume exactly.

A checkpoint is a flat directory of

    the two adapter files                        the LoRA weights and their config (shared.adapter_format),
                                                 so the checkpoint is also an adapter mlx-lm loads
    optimizer.safetensors                        the flattened AdamW state (step counter, moments)
    trainer_state.json                           step, data position (epoch, index), RNG states, fingerprints
    manifest.json                                format name and version, sha256 and size of every file

The manifest is written last, so a directory without one is an incomplete checkpoint. Reading checks the
format, the version, every file's size and sha256 and every array; any problem is a FailedPrecondition that
says what is wrong, and nothing is applied to the trainer until everything has been read and checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import mlx.core as mx
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from shared.adapter_format import (
    ADAPTER_FILES,
    AdapterConfig,
    load_adapter_tensors,
    read_adapter_config,
    write_adapter,
)
from shared.errors import DistrustError, FailedPrecondition

FORMAT = "distrust-trainer-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
OPTIMIZER = "optimizer.safetensors"
STATE = "trainer_state.json"
FILES = (*ADAPTER_FILES, OPTIMIZER, STATE)
# Settings added after checkpoints were first written, with the value every run had before: an older
# checkpoint (without the key) resumes a run that has that value.
# Keyword arguments, not string keys: a field's name is spelled once, in its schema.
LEGACY_SETTINGS: dict[str, JsonValue] = dict(precision="float32", quantize_base=None)  # noqa: C408


class RngState(BaseModel):
    """The random generators where they stand: mx.random's key and Python's `random.getstate()`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mlx: tuple[int, int]  # the key's two uint32 words
    python: tuple[int, tuple[int, ...], float | None]  # version, internal state, gauss


class TrainerState(BaseModel):
    """`trainer_state.json`, everything but the arrays: where training is and what it was run with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int = Field(ge=0)
    total_steps: int = Field(ge=0)
    epoch: int = Field(ge=0)  # 0-based epoch of the next example
    index: int = Field(ge=0)  # position of the next example in that epoch's order
    rng: RngState
    settings: dict[str, JsonValue]  # TrainSettings.continuation_fingerprint(), compared key by key
    data_fingerprint: str


@dataclass(frozen=True)
class Checkpoint:
    """Everything a checkpoint holds, in memory."""

    state: TrainerState
    adapter: dict[str, mx.array]
    adapter_config: AdapterConfig
    optimizer: dict[str, mx.array]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _save_safetensors_atomic(path: Path, arrays: dict[str, mx.array]) -> None:
    tmp = path.with_name(path.name + ".tmp.safetensors")
    mx.save_safetensors(str(tmp), arrays)
    os.replace(tmp, path)


def write_checkpoint(directory: Path, checkpoint: Checkpoint) -> None:
    """Write every file, then the manifest last: a directory without a manifest is no checkpoint."""
    directory.mkdir(parents=True, exist_ok=True)
    stale = directory / MANIFEST
    if stale.exists():
        stale.unlink()  # an overwritten checkpoint is incomplete until its new manifest exists
    write_adapter(directory, checkpoint.adapter, checkpoint.adapter_config)
    mx.eval(checkpoint.optimizer)
    _save_safetensors_atomic(directory / OPTIMIZER, checkpoint.optimizer)
    _write_text_atomic(directory / STATE, checkpoint.state.model_dump_json(indent=2))
    files = {name: {"sha256": _sha256(directory / name), "bytes": (directory / name).stat().st_size} for name in FILES}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "step": checkpoint.state.step, "files": files}
    _write_text_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def _fail(directory: Path, reason: str) -> FailedPrecondition:
    return FailedPrecondition(f"checkpoint {directory} is unusable: {reason}", code="invalid_checkpoint")


def _verify_files(directory: Path, files: object) -> None:
    for name in FILES:
        path = directory / name
        expected = files.get(name) if isinstance(files, dict) else None
        if not isinstance(expected, dict) or "sha256" not in expected:
            raise _fail(directory, f"the manifest does not list {name}")
        if not path.is_file():
            raise _fail(directory, f"{name} is missing")
        if path.stat().st_size != expected.get("bytes") or _sha256(path) != expected["sha256"]:
            raise _fail(directory, f"{name} does not match its checksum (corrupt or modified)")


def read_checkpoint(directory: Path) -> Checkpoint:
    """Read and verify a checkpoint; FailedPrecondition names what is missing or corrupt."""
    if not directory.is_dir():
        raise _fail(directory, "the directory does not exist")
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise _fail(directory, f"{MANIFEST} is missing (the checkpoint is incomplete)")
    try:
        manifest = json.loads(manifest_path.read_text())
        version = manifest["format_version"]
        fmt = manifest["format"]
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _fail(directory, f"{MANIFEST} cannot be read ({type(exc).__name__}: {exc})") from exc
    if fmt != FORMAT:
        raise _fail(directory, f"format {fmt!r} is not {FORMAT!r}")
    if version != FORMAT_VERSION:
        raise _fail(directory, f"format version {version!r} is not supported (this trainer reads {FORMAT_VERSION})")
    _verify_files(directory, files)
    try:
        state = TrainerState.model_validate_json((directory / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError, and so is bad UTF-8
        raise _fail(directory, f"{STATE} cannot be parsed ({_reason(exc)})") from exc
    try:
        adapter_config = read_adapter_config(directory)
        adapter = load_adapter_tensors(directory)
    except DistrustError as exc:
        raise _fail(directory, f"its adapter cannot be read ({exc.message})") from exc
    try:
        optimizer = mx.load(str(directory / OPTIMIZER))
    except Exception as exc:  # mlx raises RuntimeError or ValueError, depending on what is wrong with the file
        raise _fail(directory, f"{OPTIMIZER} cannot be parsed ({exc})") from exc
    if not isinstance(optimizer, dict):
        raise _fail(directory, f"{OPTIMIZER} holds no named arrays")
    return Checkpoint(state=state, adapter=adapter, adapter_config=adapter_config, optimizer=optimizer)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(part) for part in error['loc']) or 'the file'}: {error['msg']}"
    return f"{type(exc).__name__}: {exc}"


def rng_state() -> RngState:
    """The mx.random key and random.getstate(), as a checkpoint stores them."""
    version, internal, gauss = random.getstate()
    key = cast(list[mx.array], mx.random.state)[0]  # mlx types its global state as object
    hi, lo = cast(list[int], key.tolist())
    return RngState(mlx=(hi, lo), python=(version, internal, gauss))


def set_rng_state(rng: RngState) -> None:
    """Restore what `rng_state` returned."""
    hi, lo = rng.mlx
    mx.random.seed((hi << 32) | lo)  # seeding with the 64-bit value sets exactly this key
    random.setstate(rng.python)


def check_resumable(
    directory: Path,
    loaded: Checkpoint,
    *,
    settings: Mapping[str, object],
    data_fingerprint: str,
    total_steps: int,
    position: tuple[int, int],
    adapter: dict[str, mx.array],
    optimizer: dict[str, mx.array],
) -> None:
    """Raise FailedPrecondition unless `loaded` continues this run.

    It must have the same settings (those that change the math), the same tokenized data, a consistent step and
    data position, and the same adapter and optimizer arrays.
    """
    state = loaded.state

    def fail(reason: str) -> FailedPrecondition:
        return FailedPrecondition(f"checkpoint {directory} cannot resume this run: {reason}", code="invalid_checkpoint")

    ours = json.loads(json.dumps(settings))
    theirs = {**{k: v for k, v in LEGACY_SETTINGS.items() if k in ours}, **state.settings}
    differ = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if differ:
        raise fail(
            "settings differ: " + ", ".join(f"{k} (checkpoint {theirs.get(k)!r}, now {ours.get(k)!r})" for k in differ)
        )
    if state.data_fingerprint != data_fingerprint:
        raise fail("the training data (or its tokenization) differs from the checkpoint's")
    if state.total_steps != total_steps or not 0 <= state.step <= total_steps:
        raise fail(f"step {state.step} of {state.total_steps} does not fit this run's {total_steps} steps")
    if (state.epoch, state.index) != position:
        raise fail(f"data position (epoch {state.epoch}, index {state.index}) does not match step {state.step}")
    for what, current, saved in (
        ("adapter weights", adapter, loaded.adapter),
        ("optimizer state", optimizer, loaded.optimizer),
    ):
        mismatch = _array_mismatch(current, saved)
        if mismatch:
            raise fail(f"{what} {mismatch}")


def _array_mismatch(current: dict[str, mx.array], saved: dict[str, mx.array]) -> str | None:
    if set(current) != set(saved):
        missing, extra = sorted(set(current) - set(saved))[:3], sorted(set(saved) - set(current))[:3]
        return f"do not match this model (missing {missing}, unexpected {extra})"
    for name, value in saved.items():
        if value.shape != current[name].shape or value.dtype != current[name].dtype:
            return (
                f"differ: {name} is {value.shape} {value.dtype}, expected {current[name].shape} {current[name].dtype}"
            )
    return None


def assign_leaf(tree: Any, dotted: str, value: mx.array) -> None:
    """Replace one leaf of a nested dict / list tree in place (keeps the containers mx.compile captured)."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
