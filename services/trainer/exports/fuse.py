"""Fuse a LoRA adapter into its base model with mlx-lm, optionally quantize, and save a model folder.

The steps are `mlx_lm.fuse`'s and `mlx_lm.convert`'s: load the base (`load_model`) and the adapter
(`load_adapters`), replace every LoRA layer by `module.fuse()` (W + scale·Bᵀ·Aᵀ), cast, quantize with
`quantize_model`, and write with `save_model` / `save_config`, copying the base's tokenizer files. The result is
the Hugging Face layout `mlx_lm.load` reads (config.json, with its `quantization` section when quantized;
model.safetensors; tokenizer files; generation_config.json).

A quantized base is dequantized first (`fuse(dequantize=True)`, then `dequantize_model`), so LoRA deltas are
added to full-precision weights and the output is quantized only when the options ask for it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlx.core as mx
from mlx import nn
from mlx.utils import tree_flatten, tree_map_with_path, tree_unflatten
from mlx_lm.utils import (
    dequantize_model,
    load_adapters,
    load_model,
    load_tokenizer,
    quantize_model,
    save_config,
    save_model,
)

from services.trainer.exports.gguf import check_gguf_support, export_gguf
from services.trainer.models.folder import CONFIG_FILE, model_files, require_model_folder
from shared.adapter_format import ADAPTER_CONFIG, AdapterConfig, read_adapter_config
from shared.errors import DistrustError, FailedPrecondition
from shared.schemas.export import ExportOptions

# Copied from the base as they are: the tokenizer (fusing does not change it; these are the patterns mlx-lm's
# tokenizer loader reads), generation settings, custom code, and the licence that travels with derived weights.
_COPIED = ("*.json", "*.jinja", "*.txt", "*.model", "*.tiktoken", "*.py", "LICENSE*", "NOTICE*", "USE_POLICY*")
_NOT_COPIED = (CONFIG_FILE, ADAPTER_CONFIG)  # and weight indexes (*.index.json), which describe the base's shards

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExportResult:
    """What `fuse_adapter` wrote. `files` are relative to `path`; `bytes` is their total size."""

    path: Path
    files: tuple[str, ...]
    bytes: int
    architecture: str  # config.json's model_type
    dtype: str  # the floating dtype of the stored weights (of scales and norms when quantized)
    quantization: dict[str, Any] | None  # {"bits", "group_size", "mode"} as in config.json, or None
    fused_layers: int  # LoRA layers folded into their linear layer
    dequantized_base: bool  # the base was quantized and has been dequantized before fusing
    gguf: Path | None = None  # the GGUF file, when one was asked for with `gguf_file`
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "files": list(self.files),
            "bytes": self.bytes,
            "architecture": self.architecture,
            "dtype": self.dtype,
            "quantization": self.quantization,
            "fused_layers": self.fused_layers,
            "dequantized_base": self.dequantized_base,
            "gguf": str(self.gguf) if self.gguf else None,
            "seconds": self.seconds,
        }


def fuse_adapter(
    base_dir: Path,
    adapter_dir: Path,
    out_dir: Path,
    options: ExportOptions,
    progress: Progress | None = None,
    *,
    gguf_file: Path | None = None,
) -> ExportResult:
    """Fuse the adapter in `adapter_dir` into the base in `base_dir` and write the model folder `out_dir`.

    `out_dir` must not exist or be empty: it is built in a hidden folder beside it and renamed into place, so
    readers never see half a model. With `options.gguf`, the architecture is checked before any work and, when
    `gguf_file` is given, the GGUF is written there (outside `out_dir`, which stays a plain model folder).
    Raises FailedPrecondition for a missing or broken base or adapter, an adapter that does not fit the base,
    an architecture that cannot become GGUF, or an `out_dir` that already holds files.
    """
    started = time.monotonic()
    base_dir, adapter_dir, out_dir = Path(base_dir), Path(adapter_dir), Path(out_dir)
    say = progress or (lambda _message: None)
    _require_base(base_dir)
    adapter_config = _require_adapter(adapter_dir)
    _require_free(out_dir)
    base_config = _read_json(base_dir / CONFIG_FILE, "base_model")
    if options.gguf:
        check_gguf_support(base_config, quantized_ok=True)

    say(f"Loading the base model {base_dir.name}")
    try:
        model, config = load_model(base_dir, lazy=True)
        # Fail now, not after the work, when the base's tokenizer is unusable.
        load_tokenizer(base_dir)  # type: ignore[no-untyped-call]  # mlx_lm leaves load_tokenizer unannotated
    except (ValueError, KeyError, FileNotFoundError, OSError) as exc:
        raise FailedPrecondition(
            f"base model {base_dir.name}: mlx-lm cannot load it ({exc})", param="base_model"
        ) from exc
    if options.dtype is not None:
        _cast(model, getattr(mx, options.dtype))
    say(f"Applying the adapter ({adapter_config.fine_tune_type})")
    try:
        model = load_adapters(model, str(adapter_dir))
    except (ValueError, KeyError, TypeError, AttributeError, FileNotFoundError) as exc:
        raise FailedPrecondition(
            f"adapter {adapter_dir.name} does not fit base model {base_dir.name}: {exc}", param="adapter"
        ) from exc

    modules = model.named_modules()  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
    fused = [(name, module.fuse(dequantize=True)) for name, module in modules if hasattr(module, "fuse")]
    say(f"Fusing {len(fused)} LoRA layers")
    if fused:
        model.update_modules(tree_unflatten(fused))
    dequantized = bool(config.pop("quantization", None)) | bool(config.pop("quantization_config", None))
    if dequantized:
        say("Dequantizing the quantized base model")
        model = dequantize_model(model)
    if options.quantize_bits is not None:
        say(f"Quantizing to {options.quantize_bits} bits (group size {options.group_size})")
        with contextlib.redirect_stdout(io.StringIO()):  # quantize_model prints its bits per weight
            model, config = quantize_model(model, config, options.group_size, options.quantize_bits)

    dtype = options.dtype or _float_dtype(model)
    config["torch_dtype"] = dtype
    if "dtype" in config:  # transformers 5 writes "dtype"
        config["dtype"] = dtype
    base_name = adapter_config.model or base_dir.name
    config["distrust"] = {
        "export": {
            "base_model": base_name,
            "base": base_config.get("distrust"),
            "fine_tune_type": adapter_config.fine_tune_type,
            "fused_layers": len(fused),
            "dequantized_base": dequantized,
        }
    }

    say(f"Saving {out_dir.name}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=out_dir.parent))
    try:
        staging.chmod(0o755)
        _save(staging, base_dir, model, config)
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    gguf_path = None
    if options.gguf and gguf_file is not None:
        say("Writing GGUF")
        gguf_path = export_gguf(out_dir, Path(gguf_file))
    files = model_files(out_dir)
    return ExportResult(
        path=out_dir,
        files=tuple(p.relative_to(out_dir).as_posix() for p in files),
        bytes=sum(p.stat().st_size for p in files),
        architecture=str(config.get("model_type")),
        dtype=dtype,
        quantization=options.quantization,
        fused_layers=len(fused),
        dequantized_base=dequantized,
        gguf=gguf_path,
        seconds=round(time.monotonic() - started, 3),
    )


def _require_base(base_dir: Path) -> None:
    if not base_dir.is_dir():
        raise FailedPrecondition(f"base model folder {base_dir} does not exist", param="base_model")
    try:
        require_model_folder(base_dir)
    except DistrustError as exc:
        raise FailedPrecondition(f"base model: {exc.message}", param="base_model") from exc


def _require_adapter(adapter_dir: Path) -> AdapterConfig:
    try:
        return read_adapter_config(adapter_dir)
    except DistrustError as exc:  # a bad adapter is the state of the job's inputs, not a bad request
        raise FailedPrecondition(f"adapter: {exc.message}", param="adapter") from exc


def _read_json(path: Path, param: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FailedPrecondition(f"{path}: not readable JSON ({exc})", param=param) from exc
    if not isinstance(value, dict):
        raise FailedPrecondition(f"{path}: not a JSON object", param=param)
    return value


def _require_free(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FailedPrecondition(
            f"{out_dir} already exists and is not an empty folder; it is not overwritten", param="out_dir"
        )


def _cast(model: nn.Module, dtype: mx.Dtype) -> None:
    """Cast floating parameters as `mlx_lm.convert` does, honouring a model's `cast_predicate`."""
    keep: Callable[[str], bool] = getattr(model, "cast_predicate", lambda _name: True)

    def cast(name: str, value: mx.array) -> mx.array:
        return value.astype(dtype) if keep(name) and mx.issubdtype(value.dtype, mx.floating) else value

    model.update(tree_map_with_path(cast, model.parameters()))  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated


def _float_dtype(model: nn.Module) -> str:
    sizes: Counter[str] = Counter()
    parameters: dict[str, mx.array] = {}
    tree_flatten(model.parameters(), destination=parameters)  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
    for value in parameters.values():
        if mx.issubdtype(value.dtype, mx.floating):
            sizes[str(value.dtype).removeprefix("mlx.core.")] += value.size
    return sizes.most_common(1)[0][0] if sizes else "unknown"


def _save(directory: Path, base_dir: Path, model: nn.Module, config: dict[str, Any]) -> None:
    """Write the model folder as mlx-lm's `save` does, without its model card, and the base's tokenizer files.

    The tokenizer files are copied byte for byte: the tokenizer's `save_pretrained` would rewrite them for the
    installed transformers version.
    """
    save_model(directory, model, donate_model=False)
    save_config(config, directory / CONFIG_FILE)
    for pattern in _COPIED:
        for source in sorted(base_dir.glob(pattern)):
            target = directory / source.name
            if (
                source.is_file()
                and source.name not in _NOT_COPIED
                and not source.name.endswith(".index.json")
                and not target.exists()
            ):
                shutil.copy2(source, target)


def _move_into_place(staging: Path, out_dir: Path) -> None:
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()
    try:
        os.rename(staging, out_dir)
    except OSError as exc:
        raise FailedPrecondition(f"{out_dir} appeared while exporting; it is not overwritten", param="out_dir") from exc
