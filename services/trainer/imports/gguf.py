"""Import a GGUF file (Ollama, LM Studio, llama.cpp) into a folder `mlx_lm.load` opens.

The folder holds config.json (Hugging Face names, from the `<arch>.*` metadata), model.safetensors (HF tensor
names; Q4_0 / Q4_1 / Q8_0 kept as MLX quantized triples or dequantized to a float dtype), and the tokenizer
rebuilt from the metadata. It is written beside the target and renamed into place, so a failed import leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import mlx.core as mx

from services.trainer.imports.architectures import (
    Architecture,
    architecture_named,
    build_config,
    hf_name,
    rows_permuted_as,
    unpermute_rows,
)
from services.trainer.imports.header import (
    QUANTIZED_TRIPLE_TYPES,
    REREAD_TYPES,
    GgufHeader,
    TensorInfo,
    check_extent,
    check_types,
    read_header,
)
from services.trainer.imports.metadata import GgufMetadata, MetadataValue
from services.trainer.imports.q4_k import read_q4_k
from services.trainer.imports.rope import TENSOR as ROPE_FREQS
from services.trainer.imports.tokenizer import write_tokenizer
from shared.errors import InvalidArgument, invalid_field

log = logging.getLogger(__name__)

Dtype = Literal["float32", "bfloat16", "float16"]
DTYPES: dict[str, mx.Dtype] = {"float32": mx.float32, "bfloat16": mx.bfloat16, "float16": mx.float16}
SHARD_BYTES = 5 << 30  # mlx-lm's and Hugging Face's shard size
GROUP_SIZE = 32  # GGUF's Q4_0 / Q4_1 / Q8_0 block size, which MLX keeps as its group size


@dataclass(frozen=True)
class ImportOptions:
    """`keep_quantization`: keep Q4_0 / Q4_1 / Q8_0 tensors quantized; `dtype`: every other floating tensor's type."""

    dtype: Dtype = "float32"
    keep_quantization: bool = True


@dataclass(frozen=True)
class GgufImport:
    """What an import produced: `quantization` is the file's main tensor type (by elements), `bits` the kept one."""

    architecture: str
    parameter_count: int
    quantization: str
    bits: int | None
    dtype: Dtype
    sha256: str
    model_dir: Path


def file_sha256(path: Path) -> str:
    """The file's SHA-256 hex digest, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def import_gguf(path: Path, out_dir: Path, options: ImportOptions | None = None) -> GgufImport:
    """Convert the GGUF at `path` into an mlx-lm folder at `out_dir` (which must not exist yet)."""
    options = options or ImportOptions()
    if options.dtype not in DTYPES:
        raise invalid_field("dtype", options.dtype, f"one of {sorted(DTYPES)}")
    if not path.is_file():
        raise invalid_field("file", str(path), "an existing GGUF file")
    if out_dir.exists():
        raise invalid_field("out_dir", str(out_dir), "a path that does not exist yet")
    header = read_header(path)
    arch = architecture_named(header.architecture, path)
    check_types(header, path)
    check_extent(header, path, path.stat().st_size)
    try:
        loaded = mx.load(str(path), format="gguf", return_metadata=True)
    except (RuntimeError, ValueError) as exc:
        raise InvalidArgument(f"file {path}: unreadable GGUF ({exc})", param="file") from exc
    arrays, raw_meta = cast(tuple[dict[str, mx.array], dict[str, MetadataValue]], loaded)
    meta = GgufMetadata(raw_meta, path)
    weights, bits = _convert_tensors(header, arrays, arch, meta, options)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        write_tokenizer(meta, staging)
        config = build_config(
            arch,
            meta,
            vocab_size=weights["model.embed_tokens.weight"].shape[0],
            tied="lm_head.weight" not in weights,
            rope_freqs=arrays.get(ROPE_FREQS) if arch.rope_freqs else None,
        )
        config.update(_token_ids(meta))
        if arch.model_type == "llama":
            config["attention_bias"] = any(name.endswith("self_attn.q_proj.bias") for name in weights)
            config["mlp_bias"] = any(name.endswith("mlp.up_proj.bias") for name in weights)
        config["torch_dtype"] = options.dtype
        if bits:
            config["quantization"] = _quantization_config(bits)
        (staging / "config.json").write_text(json.dumps(config, indent=2))
        save_weights(weights, staging)
        staging.chmod(0o755)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    kept = Counter(bits.values()).most_common(1)[0][0] if bits else None
    log.info("imported %s (%s, %s) into %s", path, arch.gguf_name, _main_type(header), out_dir)
    return GgufImport(
        architecture=arch.gguf_name,
        parameter_count=_parameter_count(header),
        quantization=_main_type(header),
        bits=kept,
        dtype=options.dtype,
        sha256=file_sha256(path),
        model_dir=out_dir,
    )


def _convert_tensors(
    header: GgufHeader, arrays: dict[str, mx.array], arch: Architecture, meta: GgufMetadata, options: ImportOptions
) -> tuple[dict[str, mx.array], dict[str, int]]:
    """HF-named tensors, and the bits of each module kept quantized (keyed by module path)."""
    dtype = DTYPES[options.dtype]
    weights: dict[str, mx.array] = {}
    bits: dict[str, int] = {}
    for info in header.tensors:
        if info.name == ROPE_FREQS and arch.rope_freqs:
            continue
        name = hf_name(info.name, meta.path)
        heads = rows_permuted_as(info.name, arch, meta)
        parts = _quantized_triple(info, arrays, meta.path)
        if parts is None:
            value = _dense(info, arrays, meta.path)
            weights[name] = (unpermute_rows(value, heads) if heads else value).astype(dtype)
            continue
        packed, scales, biases = parts
        if heads:
            packed, scales, biases = (unpermute_rows(part, heads) for part in parts)
        n_bits, hf_stem = packed.shape[-1] // scales.shape[-1], name.removesuffix(".weight")
        if options.keep_quantization:
            weights[name], bits[hf_stem] = packed, n_bits
            weights[f"{hf_stem}.scales"], weights[f"{hf_stem}.biases"] = scales.astype(dtype), biases.astype(dtype)
        else:
            # Dequantized in float32: float16 scales would round every weight to float16 on the way.
            scales, biases = scales.astype(mx.float32), biases.astype(mx.float32)
            weights[name] = mx.dequantize(packed, scales, biases, group_size=GROUP_SIZE, bits=n_bits).astype(dtype)
    return weights, bits


def _quantized_triple(
    info: TensorInfo, arrays: dict[str, mx.array], path: Path
) -> tuple[mx.array, mx.array, mx.array] | None:
    """(codes, scales, biases) of a tensor stored with 32-value blocks, or None for a dense one."""
    if info.type_name in REREAD_TYPES:
        return read_q4_k(path, info)
    if info.type_name not in QUANTIZED_TRIPLE_TYPES:
        return None
    stem = info.name.removesuffix(".weight")
    return _loaded(info.name, arrays, path), arrays[f"{stem}.scales"], arrays[f"{stem}.biases"]


def _dense(info: TensorInfo, arrays: dict[str, mx.array], path: Path) -> mx.array:
    value = _loaded(info.name, arrays, path)
    if not mx.all(mx.isfinite(value)).item():
        # MLX reads BF16 as float16, where values past 65504 become inf.
        why = " (BF16 read as float16 overflows)" if info.type_name == "BF16" else ""
        raise InvalidArgument(f"file {path}: tensor {info.name!r} holds inf or NaN{why}", param="file")
    return value


def _loaded(name: str, arrays: dict[str, mx.array], path: Path) -> mx.array:
    if name not in arrays:
        raise InvalidArgument(f"file {path}: tensor {name!r} was not read by MLX", param="file")
    return arrays[name]


def save_weights(weights: dict[str, mx.array], directory: Path, *, shard_bytes: int = SHARD_BYTES) -> None:
    """model.safetensors, or shards with their index past `shard_bytes` (the layout `mlx_lm.load` reads)."""
    shards: list[dict[str, mx.array]] = [{}]
    size = 0
    for name, value in weights.items():
        if shards[-1] and size + value.nbytes > shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = value
        size += value.nbytes
    if len(shards) == 1:
        mx.save_safetensors(str(directory / "model.safetensors"), shards[0], metadata={"format": "mlx"})
        return
    weight_map: dict[str, str] = {}
    for i, shard in enumerate(shards, start=1):
        file_name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        mx.save_safetensors(str(directory / file_name), shard, metadata={"format": "mlx"})
        weight_map |= dict.fromkeys(shard, file_name)
    total = sum(v.nbytes for v in weights.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))


def _quantization_config(bits: dict[str, int]) -> dict[str, object]:
    """mlx-lm's `quantization` entry: the common bit width, and an override for each module that differs."""
    common = Counter(bits.values()).most_common(1)[0][0]
    config: dict[str, object] = {"group_size": GROUP_SIZE, "bits": common}
    for module, n_bits in sorted(bits.items()):
        if n_bits != common:
            config[module] = {"group_size": GROUP_SIZE, "bits": n_bits}
    return config


def _token_ids(meta: GgufMetadata) -> dict[str, int]:
    ids = {}
    for role, field in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("padding", "pad_token_id")):
        key = f"tokenizer.ggml.{role}_token_id"
        if key in meta:
            ids[field] = meta.integer(key)
    return ids


def _elements(shape: tuple[int, ...]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def _parameter_count(header: GgufHeader) -> int:
    return sum(_elements(t.shape) for t in header.tensors)


def _main_type(header: GgufHeader) -> str:
    counts: Counter[str] = Counter()
    for tensor in header.tensors:
        counts[tensor.type_name] += _elements(tensor.shape)
    return counts.most_common(1)[0][0]
