"""What a model folder holds, read from config.json and the safetensors headers without loading any weight."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.trainer.models.folder import CONFIG_FILE, bytes_on_disk, require_model_folder
from services.trainer.models.safetensors_format import DTYPE_NAMES, TensorHeader, read_header
from shared.errors import FailedPrecondition

DEFAULT_GROUP_SIZE = 64  # mlx_lm's default when a quantised checkpoint does not say
_BLOCK = re.compile(r"(?:^|\.)layers\.0\.(.+)\.weight$")


@dataclass(frozen=True)
class ModelInfo:
    """Shape and storage of a model. Plain JSON values only, so `ModelInfo(**asdict(info))` round-trips."""

    model_type: str
    num_layers: int
    hidden_size: int
    vocab_size: int
    num_parameters: int  # logical parameters: a 4-bit weight still counts as one parameter per element
    bytes_on_disk: int  # every file of the folder
    quantization_bits: int | None  # None for an unquantised model
    dtype: str  # the floating dtype of the stored tensors (for a quantised model: of its scales and norms)
    context_length: int | None
    intermediate_size: int | None = None
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None
    quantization_group_size: int | None = None
    quantized_parameters: int = 0  # how many of num_parameters are stored quantised
    weight_bytes: int = 0  # the tensors' bytes (packed weights, scales and biases included)
    tie_word_embeddings: bool = False
    # Linear layers of one transformer block: path inside the block → [in_features, out_features].
    block_linears: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        """The info `dataclasses.asdict` gave, read back (from a model registry record, say)."""
        return cls(**data)


# open: a model's Hugging Face config.json, whatever its architecture writes
def _pick(config: dict[str, Any], *names: str) -> Any:
    """The first of `names` set in the config or, for multimodal checkpoints, in its `text_config`."""
    for scope in (config, config.get("text_config") or {}):
        for name in names:
            if scope.get(name) is not None:
                return scope[name]
    return None


def _load_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FailedPrecondition(f"{path / CONFIG_FILE}: not readable JSON ({exc})", param="model") from exc
    if not isinstance(config, dict):
        raise FailedPrecondition(f"{path / CONFIG_FILE}: not a JSON object", param="model")
    return config


def _quantization(config: dict[str, Any], module: str) -> tuple[int | None, int]:
    """(bits, group_size) configured for `module`, honouring mlx_lm's per-layer overrides."""
    quant = config.get("quantization") or config.get("quantization_config") or {}
    override = quant.get(module)
    if isinstance(override, dict):
        quant = override
    return quant.get("bits"), int(quant.get("group_size") or DEFAULT_GROUP_SIZE)


@dataclass
class _Count:
    parameters: int = 0
    quantized: int = 0
    bits: Counter[int] = field(default_factory=Counter)
    float_bytes: Counter[str] = field(default_factory=Counter)
    weight_bytes: int = 0
    linears: dict[str, list[int]] = field(default_factory=dict)


def _count(tensors: dict[str, TensorHeader], config: dict[str, Any]) -> _Count:
    count = _Count()
    for name, tensor in tensors.items():
        count.weight_bytes += tensor.nbytes
        if tensor.is_float:
            count.float_bytes[DTYPE_NAMES[tensor.dtype]] += tensor.nbytes
        base = name.rsplit(".", 1)[0]
        is_metadata = name.endswith((".scales", ".biases")) and f"{base}.weight" in tensors
        if is_metadata and f"{base}.scales" in tensors:
            continue  # quantisation metadata, not parameters
        scales = tensors.get(f"{base}.scales") if name.endswith(".weight") else None
        if scales is not None and tensor.shape and scales.shape:
            configured_bits, group_size = _quantization(config, base)
            in_features = scales.shape[-1] * group_size
            rows = tensor.numel // tensor.shape[-1]
            numel = rows * in_features
            bits = configured_bits or max(1, round(tensor.nbytes * 8 / max(1, numel)))
            count.quantized += numel
            count.bits[int(bits)] += numel
            out_in = [in_features, tensor.shape[0]]
        else:
            numel = tensor.numel
            out_in = [tensor.shape[-1], tensor.shape[0]] if len(tensor.shape) == 2 else []
        count.parameters += numel
        block = _BLOCK.search(name)
        if block and out_in and not any(tower in name for tower in ("vision", "audio")):
            count.linears[block.group(1)] = out_in
    return count


def inspect_model(path: Path) -> ModelInfo:
    """Read a Hugging Face / mlx-lm model folder's shape and storage; loads no weights.

    Raises InvalidArgument when `path` is no folder and FailedPrecondition naming the missing or broken file
    when the folder is not a model.
    """
    path = Path(path)
    weight_files = require_model_folder(path)
    config = _load_config(path)
    tensors: dict[str, TensorHeader] = {}
    for file in weight_files:
        tensors |= read_header(file)[0]
    if not tensors:
        raise FailedPrecondition(f"{weight_files[0]} holds no tensors", param="model")
    count = _count(tensors, config)
    required = {
        "model_type": _pick(config, "model_type"),
        "num_hidden_layers": _pick(config, "num_hidden_layers", "n_layer", "num_layers"),
        "hidden_size": _pick(config, "hidden_size", "d_model", "n_embd"),
        "vocab_size": _pick(config, "vocab_size"),
    }
    missing = [name for name, value in required.items() if value is None]
    if missing:
        raise FailedPrecondition(f"{path / CONFIG_FILE} lacks {', '.join(missing)}", param="model")
    quant = config.get("quantization") or config.get("quantization_config") or {}
    bits = quant.get("bits") if count.quantized else None
    if count.quantized and bits is None:
        bits = count.bits.most_common(1)[0][0]
    return ModelInfo(
        model_type=str(required["model_type"]),
        num_layers=int(required["num_hidden_layers"]),
        hidden_size=int(required["hidden_size"]),
        vocab_size=int(required["vocab_size"]),
        num_parameters=count.parameters,
        bytes_on_disk=bytes_on_disk(path),
        quantization_bits=int(bits) if bits is not None else None,
        dtype=count.float_bytes.most_common(1)[0][0] if count.float_bytes else "unknown",
        context_length=_optional_int(
            _pick(config, "max_position_embeddings", "n_positions", "max_seq_len", "seq_length")
        ),
        intermediate_size=_optional_int(_pick(config, "intermediate_size", "ffn_dim", "n_inner")),
        num_attention_heads=_optional_int(_pick(config, "num_attention_heads", "n_head")),
        num_key_value_heads=_optional_int(_pick(config, "num_key_value_heads", "num_attention_heads", "n_head")),
        quantization_group_size=(int(quant.get("group_size") or DEFAULT_GROUP_SIZE) if count.quantized else None),
        quantized_parameters=count.quantized,
        weight_bytes=count.weight_bytes,
        tie_word_embeddings=bool(_pick(config, "tie_word_embeddings")),
        block_linears=dict(sorted(count.linears.items())),
    )


def _optional_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
