"""Import a Hugging Face folder (safetensors only) or an MLX-quantized folder into a folder `mlx_lm.load` opens.

"keep" copies the files as they are (an mlx-community folder stays quantized); a dtype casts every floating
tensor to it, dequantizing MLX's quantized triples first.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import cast

import mlx.core as mx

from services.trainer.imports.gguf import DTYPES, save_weights
from services.trainer.models.folder import model_fingerprint
from services.trainer.models.inspect import DEFAULT_GROUP_SIZE, inspect_model
from services.trainer.models.safetensors_format import DTYPE_NAMES, read_header
from shared.errors import FailedPrecondition, InvalidArgument, invalid_field
from shared.schemas.model_import import ImportQuantization, ModelProvenance

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl"})
WEIGHTS_GLOB = "*.safetensors"


def import_folder(path: Path, out_dir: Path, quantization: ImportQuantization, file_name: str) -> ModelProvenance:
    """Convert the model folder `path` into `out_dir` (which must not exist yet); nothing is left on failure."""
    if not path.is_dir():
        raise invalid_field("file", str(path), "a model folder")
    if out_dir.exists():
        raise invalid_field("out_dir", str(out_dir), "a path that does not exist yet")
    weights = weight_files(path)
    config = _config(path)
    quantized = bool(config.get("quantization") or config.get("quantization_config"))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        for file in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
            if file.suffix not in PICKLE_SUFFIXES and (quantization == "keep" or file.suffix != ".safetensors"):
                shutil.copy2(file, staging / file.name)
        if quantization != "keep":
            _write_cast(weights, config, staging, quantization)
        try:
            info = inspect_model(staging)
        except FailedPrecondition as exc:
            raise InvalidArgument(f"file {file_name}: {exc.message}", param="file") from exc
        staging.chmod(0o755)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    source_quantization = f"mlx-{_quant_of(config)[0]}bit" if quantized else _main_dtype(weights)
    log.info("imported folder %s (%s, %s) into %s", path, info.model_type, source_quantization, out_dir)
    return ModelProvenance(
        source="mlx" if quantized else "huggingface",
        file_name=file_name,
        sha256=model_fingerprint(path),
        quantization=source_quantization,
        bits=info.quantization_bits,
        dtype=info.dtype,
        parameter_count=info.num_parameters,
        architecture=info.model_type,
    )


def weight_files(path: Path) -> list[Path]:
    """The folder's safetensors files; a clear error naming a pickle checkpoint, or saying there are no weights."""
    weights = sorted(p for p in path.glob(WEIGHTS_GLOB) if p.is_file())
    if weights:
        return weights
    pickles = sorted(p for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise InvalidArgument(
            f"file {pickles[0].name}: a pickle checkpoint is refused (loading one can run arbitrary code); "
            "convert it to safetensors first",
            param="file",
        )
    raise InvalidArgument(f"file {path.name}: the folder holds no weights (no *.safetensors file)", param="file")


def _config(path: Path) -> dict[str, object]:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidArgument(f"file {path.name}: the folder has no config.json", param="file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"file {path.name}/config.json: not readable JSON ({exc})", param="file") from exc
    if not isinstance(config, dict):
        raise InvalidArgument(f"file {path.name}/config.json: not a JSON object", param="file")
    return cast(dict[str, object], config)


def _quant_section(config: dict[str, object]) -> dict[str, object]:
    section = config.get("quantization") or config.get("quantization_config") or {}
    return cast(dict[str, object], section) if isinstance(section, dict) else {}


def _quant_of(config: dict[str, object], module: str | None = None) -> tuple[int, int]:
    """(bits, group_size) of `module`, honouring mlx-lm's per-module overrides; the common ones without `module`."""
    section = _quant_section(config)
    override = section.get(module) if module else None
    chosen = cast(dict[str, int], override if isinstance(override, dict) else section)
    return int(chosen.get("bits") or 4), int(chosen.get("group_size") or DEFAULT_GROUP_SIZE)


def _write_cast(weights: list[Path], config: dict[str, object], staging: Path, dtype_name: str) -> None:
    """Every weight in `dtype_name`, quantized triples dequantized; config.json says so."""
    dtype = DTYPES[dtype_name]
    tensors: dict[str, mx.array] = {}
    for file in weights:
        try:
            tensors |= cast(dict[str, mx.array], mx.load(str(file)))
        except (RuntimeError, ValueError) as exc:
            raise InvalidArgument(f"file {file.name}: unreadable safetensors ({exc})", param="file") from exc
    out: dict[str, mx.array] = {}
    for name, value in tensors.items():
        stem = name.removesuffix(".weight")
        if name.endswith((".scales", ".biases")) and f"{name.rsplit('.', 1)[0]}.weight" in tensors:
            continue
        if name.endswith(".weight") and f"{stem}.scales" in tensors:
            scales = tensors[f"{stem}.scales"].astype(mx.float32)
            biases = tensors.get(f"{stem}.biases")
            bits, group_size = _quant_of(config, stem)
            value = mx.dequantize(
                value,
                scales,
                biases.astype(mx.float32) if biases is not None else None,
                group_size=group_size,
                bits=bits,
            )
        out[name] = value.astype(dtype) if mx.issubdtype(value.dtype, mx.floating) else value
    save_weights(out, staging)
    dense = {k: v for k, v in config.items() if k not in ("quantization", "quantization_config")}
    dense["torch_dtype"] = dtype_name
    (staging / "config.json").write_text(json.dumps(dense, indent=2))


def _main_dtype(weights: list[Path]) -> str:
    """The floating dtype holding most of the source's bytes (read from the safetensors headers)."""
    sizes: Counter[str] = Counter()
    for file in weights:
        for tensor in read_header(file)[0].values():
            if tensor.is_float:
                sizes[DTYPE_NAMES[tensor.dtype]] += tensor.nbytes
    return sizes.most_common(1)[0][0] if sizes else "unknown"
