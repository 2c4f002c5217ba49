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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import mlx.core as mx

from shared.adapter_format import (
    ADAPTER_FILES,
    AdapterConfig,
    load_adapter_tensors,
    read_adapter_config,
    write_adapter,
)
from shared.errors import FailedPrecondition

FORMAT = "distrust-trainer-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
OPTIMIZER = "optimizer.safetensors"
STATE = "trainer_state.json"
FILES = (*ADAPTER_FILES, OPTIMIZER, STATE)


@dataclass(frozen=True)
class TrainerState:
    """Everything but the arrays: where training is and what it was run with."""

    step: int
    total_steps: int
    epoch: int  # 0-based epoch of the next example
    index: int  # position of the next example in that epoch's order
    mlx_rng: list[int]  # mx.random key (uint32 words)
    python_rng: list[Any]  # random.getstate(), JSON-safe
    settings: dict[str, Any]  # TrainSettings.continuation_fingerprint()
    data_fingerprint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "total_steps": self.total_steps,
            "epoch": self.epoch,
            "index": self.index,
            "rng": {"mlx": self.mlx_rng, "python": self.python_rng},
            "settings": self.settings,
            "data_fingerprint": self.data_fingerprint,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> TrainerState:
        return TrainerState(
            step=int(data["step"]),
            total_steps=int(data["total_steps"]),
            epoch=int(data["epoch"]),
            index=int(data["index"]),
            mlx_rng=[int(x) for x in data["rng"]["mlx"]],
            python_rng=data["rng"]["python"],
            settings=dict(data["settings"]),
            data_fingerprint=str(data["data_fingerprint"]),
        )


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


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
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
    _write_json_atomic(directory / STATE, checkpoint.state.to_json())
    files = {name: {"sha256": _sha256(directory / name), "bytes": (directory / name).stat().st_size} for name in FILES}
    _write_json_atomic(
        directory / MANIFEST,
        {"format": FORMAT, "format_version": FORMAT_VERSION, "step": checkpoint.state.step, "files": files},
    )


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
        state = TrainerState.from_json(json.loads((directory / STATE).read_text()))
        adapter_config = read_adapter_config(directory)
        adapter = load_adapter_tensors(directory)
        optimizer = mx.load(str(directory / OPTIMIZER))
    except Exception as exc:
        raise _fail(directory, f"cannot be parsed ({type(exc).__name__}: {exc})") from exc
    if not isinstance(optimizer, dict):
        raise _fail(directory, f"{OPTIMIZER} holds no named arrays")
    return Checkpoint(state=state, adapter=adapter, adapter_config=adapter_config, optimizer=optimizer)


def rng_state() -> tuple[list[int], list[Any]]:
    """The mx.random key (two uint32 words) and random.getstate(), JSON-safe."""
    version, internal, gauss = random.getstate()
    key = cast(list[mx.array], mx.random.state)[0]  # mlx types its global state as object
    return cast(list[int], key.tolist()), [version, list(internal), gauss]


def set_rng_state(mlx_key: list[int], python_state: list[Any]) -> None:
    """Restore what `rng_state` returned."""
    hi, lo = mlx_key
    mx.random.seed((hi << 32) | lo)  # seeding with the 64-bit value sets exactly this key
    version, internal, gauss = python_state
    random.setstate((version, tuple(internal), gauss))


def check_resumable(
    directory: Path,
    loaded: Checkpoint,
    *,
    settings: dict[str, Any],
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
    differ = sorted(k for k in set(ours) | set(state.settings) if ours.get(k) != state.settings.get(k))
    if differ:
        raise fail(
            "settings differ: "
            + ", ".join(f"{k} (checkpoint {state.settings.get(k)!r}, now {ours.get(k)!r})" for k in differ)
        )
    if state.data_fingerprint != data_fingerprint:
        raise fail("the training data (or its tokenization) differs from the checkpoint's")
    if state.total_steps != total_steps or not 0 <= state.step <= total_steps:
        raise fail(f"step {state.step} of {state.total_steps} does not fit this run's {total_steps} steps")
    if (state.epoch, state.index) != position:
        raise fail(f"data position (epoch {state.epoch}, index {state.index}) does not match step {state.step}")
    if len(state.mlx_rng) != 2 or len(state.python_rng) != 3:
        raise fail("the RNG state is malformed")
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
