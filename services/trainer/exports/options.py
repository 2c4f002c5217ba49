"""What an export should produce: the fused weights' dtype, an optional quantization, an optional GGUF file.

Defaults, and why:

* `dtype=None` keeps the base model's own floating dtype, as `mlx_lm.fuse` does. Casting is opt-in because it
  is not free: float32 → float16 rounds every weight, and bfloat16 → float16 can overflow activations at
  inference (MLX computes in the weights' dtype). Pass "float16" for the usual half-size checkpoint.
* `quantize_bits=None`: no quantization. 4 or 8 bits use mlx-lm's affine group quantization (the format
  `mlx_lm.convert -q` writes and `mlx_lm.load` reads); `group_size` defaults to 64, mlx-lm's own default.
  A linear layer whose input size the group size does not divide is left unquantized, as mlx-lm does.
* `gguf=False`. A GGUF file is only written for an unquantized export: mlx-lm's GGUF writer
  (`mlx_lm.gguf.convert_to_gguf`) raises NotImplementedError for any config with a `quantization` section, and
  MLX's affine format (packed uint32 words plus per-group scales and biases) is not a GGUF tensor type. The
  GGUF is written in float16 (norms in float32), the `general.file_type` mlx-lm declares; quantize that file
  with llama.cpp's `llama-quantize` when a smaller GGUF is wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidArgument, invalid_field

QUANTIZE_BITS = (4, 8)
GROUP_SIZES = (32, 64, 128)
DEFAULT_GROUP_SIZE = 64
DTYPES = ("float16", "bfloat16", "float32")
QUANTIZATION_MODE = "affine"

_TOP_LEVEL = ("quantize", "gguf", "dtype")
_QUANTIZE_KEYS = ("bits", "group_size")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ExportOptions:
    """Validated export options; build them with `from_mapping` (request bodies) or directly (then `validate`)."""

    quantize_bits: int | None = None
    group_size: int = DEFAULT_GROUP_SIZE
    gguf: bool = False
    dtype: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise InvalidArgument naming the field when a value or a combination is not allowed."""
        if self.quantize_bits is not None and (
            not _is_int(self.quantize_bits) or self.quantize_bits not in QUANTIZE_BITS
        ):
            raise invalid_field("quantize.bits", self.quantize_bits, "4 or 8")
        if not _is_int(self.group_size) or self.group_size not in GROUP_SIZES:
            raise invalid_field("quantize.group_size", self.group_size, "32, 64 or 128")
        if not isinstance(self.gguf, bool):
            raise invalid_field("gguf", self.gguf, "true or false")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise invalid_field(
                "dtype", self.dtype, "one of float16, bfloat16, float32, or null to keep the base model's dtype"
            )
        if self.gguf and self.quantize_bits is not None:
            raise InvalidArgument(
                f"gguf: a GGUF file can only be written for an unquantized export (quantize.bits is "
                f"{self.quantize_bits}): mlx-lm's GGUF writer refuses quantized models and MLX's affine "
                f"quantization has no GGUF tensor type; export without quantize and quantize the GGUF with "
                f"llama.cpp's llama-quantize instead",
                param="gguf",
            )

    @property
    def quantized(self) -> bool:
        return self.quantize_bits is not None

    @property
    def quantization(self) -> dict[str, Any] | None:
        """The quantization section mlx-lm writes into config.json, or None when the export is unquantized."""
        if self.quantize_bits is None:
            return None
        return {"bits": self.quantize_bits, "group_size": self.group_size, "mode": QUANTIZATION_MODE}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ExportOptions:
        """Options from a request body: {"quantize": {"bits": 4 | 8, "group_size": 32 | 64 | 128} | null,
        "gguf": bool, "dtype": "float16" | "bfloat16" | "float32" | null}; every key may be left out.

        Unknown keys are refused (a typo must not silently export something else). An empty dtype string
        counts as unset, since protobuf sends "" for an unset string.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise invalid_field("options", data, "an object with quantize, gguf and dtype")
        for key in data:
            if key not in _TOP_LEVEL:
                raise invalid_field(str(key), data[key], f"no such export option (known: {', '.join(_TOP_LEVEL)})")
        bits, group_size = _quantize(data.get("quantize"))
        gguf = data.get("gguf")
        dtype = data.get("dtype")
        return cls(
            quantize_bits=bits,
            group_size=group_size,
            gguf=False if gguf is None else gguf,
            dtype=None if dtype in (None, "") else dtype,
        )

    def to_dict(self) -> dict[str, Any]:
        """The request-body form; `from_mapping(options.to_dict()) == options`."""
        quantize = None if self.quantize_bits is None else {"bits": self.quantize_bits, "group_size": self.group_size}
        return {"quantize": quantize, "gguf": self.gguf, "dtype": self.dtype}


def _quantize(value: Any) -> tuple[int | None, int]:
    if value is None:
        return None, DEFAULT_GROUP_SIZE
    if not isinstance(value, Mapping):
        raise invalid_field("quantize", value, 'an object {"bits": 4 | 8, "group_size": 32 | 64 | 128} or null')
    for key in value:
        if key not in _QUANTIZE_KEYS:
            raise invalid_field(
                f"quantize.{key}", value[key], f"no such quantize option (known: {', '.join(_QUANTIZE_KEYS)})"
            )
    if "bits" not in value:
        raise invalid_field("quantize.bits", None, "4 or 8 (required when quantize is given)")
    group_size = value.get("group_size")
    return value["bits"], DEFAULT_GROUP_SIZE if group_size is None else group_size
