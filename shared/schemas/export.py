"""Exports: what an export should produce (`ExportOptions`) and what it wrote (`ExportResult`).

Defaults, and why:

* `dtype=None` keeps the base model's own floating dtype, as `mlx_lm.fuse` does. Casting is opt-in because it
  is not free: float32 → float16 rounds every weight, and bfloat16 → float16 can overflow activations at
  inference (MLX computes in the weights' dtype). Pass "float16" for the usual half-size checkpoint.
* `quantize=None`: no quantization. 4 or 8 bits use mlx-lm's affine group quantization (the format
  `mlx_lm.convert -q` writes and `mlx_lm.load` reads); `group_size` defaults to 64, mlx-lm's own default.
  A linear layer whose input size the group size does not divide is left unquantized, as mlx-lm does.
* `gguf=False`. A GGUF file is only written for an unquantized export: mlx-lm's GGUF writer
  (`mlx_lm.gguf.convert_to_gguf`) raises NotImplementedError for any config with a `quantization` section, and
  MLX's affine format (packed uint32 words plus per-group scales and biases) is not a GGUF tensor type. The
  GGUF is written in float16 (norms in float32), the `general.file_type` mlx-lm declares; quantize that file
  with llama.cpp's `llama-quantize` when a smaller GGUF is wanted.

The fields are those of the messages of the same names in `distrust/trainer/v1/export.proto`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import InvalidArgument, invalid_field
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.schemas.request import RequestModel

QUANTIZE_BITS = (4, 8)
GROUP_SIZES = (32, 64, 128)
DEFAULT_GROUP_SIZE: Final = 64
DTYPES = ("float16", "bfloat16", "float32")
QUANTIZATION_MODE = "affine"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class QuantizeConfig(RequestModel):
    """mlx-lm's affine group quantization."""

    model_config = ConfigDict(frozen=True)

    bits: Literal[4, 8]
    group_size: Literal[32, 64, 128] = DEFAULT_GROUP_SIZE

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        # Checked by hand so each refusal is an InvalidArgument naming `quantize.<field>` and the value.
        if isinstance(data, QuantizeConfig):
            return data
        if not isinstance(data, Mapping):
            raise invalid_field("quantize", data, 'an object {"bits": 4 | 8, "group_size": 32 | 64 | 128} or null')
        for key in data:
            if key not in cls.model_fields:
                raise invalid_field(
                    f"quantize.{key}", data[key], f"no such quantize option (known: {', '.join(cls.model_fields)})"
                )
        if "bits" not in data:
            raise invalid_field("quantize.bits", None, "4 or 8 (required when quantize is given)")
        if not _is_int(data["bits"]) or data["bits"] not in QUANTIZE_BITS:
            raise invalid_field("quantize.bits", data["bits"], "4 or 8")
        group_size = data.get("group_size")
        if group_size is not None and (not _is_int(group_size) or group_size not in GROUP_SIZES):
            raise invalid_field("quantize.group_size", group_size, "32, 64 or 128")
        return {k: v for k, v in data.items() if v is not None}


class ExportOptions(RequestModel):
    """Validated export options: every field may be left out; a bad value or combination is an InvalidArgument."""

    model_config = ConfigDict(frozen=True)

    quantize: QuantizeConfig | None = Field(default=None, description="Unset: no quantization")
    gguf: bool = Field(default=False, description="Also write a GGUF file (unquantized exports only)")
    dtype: Literal["float16", "bfloat16", "float32"] | None = Field(
        default=None, description="Weights dtype of the fused model; unset: the base model's"
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        # Unknown keys are refused by name (a typo must not silently export something else); protobuf's "" dtype
        # counts as unset.
        if isinstance(data, BaseModel):
            return data
        if not isinstance(data, Mapping):
            raise invalid_field("options", data, "an object with quantize, gguf and dtype")
        for key in data:
            if key not in cls.model_fields:
                raise invalid_field(str(key), data[key], f"no such export option (known: {', '.join(_OPTIONS)})")
        if data.get("gguf") is not None and not isinstance(data["gguf"], bool):
            raise invalid_field("gguf", data["gguf"], "true or false")
        dtype = data.get("dtype")
        if dtype not in (None, "") and dtype not in DTYPES:
            raise invalid_field(
                "dtype", dtype, "one of float16, bfloat16, float32, or null to keep the base model's dtype"
            )
        return {k: v for k, v in data.items() if v not in (None, "")}

    @model_validator(mode="after")
    def _gguf_unquantized(self) -> ExportOptions:
        if self.gguf and self.quantize is not None:
            raise InvalidArgument(
                f"gguf: a GGUF file can only be written for an unquantized export (quantize.bits is "
                f"{self.quantize.bits}): mlx-lm's GGUF writer refuses quantized models and MLX's affine "
                f"quantization has no GGUF tensor type; export without quantize and quantize the GGUF with "
                f"llama.cpp's llama-quantize instead",
                param="gguf",
            )
        return self

    @property
    def quantize_bits(self) -> int | None:
        return None if self.quantize is None else self.quantize.bits

    @property
    def group_size(self) -> int:
        return DEFAULT_GROUP_SIZE if self.quantize is None else self.quantize.group_size

    @property
    def quantized(self) -> bool:
        return self.quantize is not None

    @property
    def quantization(self) -> dict[str, Any] | None:
        """The quantization section mlx-lm writes into config.json, or None when the export is unquantized."""
        if self.quantize is None:
            return None
        return {"bits": self.quantize.bits, "group_size": self.quantize.group_size, "mode": QUANTIZATION_MODE}


_OPTIONS = tuple(ExportOptions.model_fields)


class Quantization(BaseModel):
    """The quantization section written into the exported config.json."""

    bits: int
    group_size: int
    mode: str


class GgufFile(BaseModel):
    """The export's GGUF file in the results bucket."""

    key: str
    bytes: int
    sha256: str | None = None


class ExportResult(BaseModel):
    """What a finished export wrote: the model folder's files and size, its dtype and quantization, the GGUF."""

    files: list[str]
    bytes: int
    architecture: str
    dtype: str
    quantization: Quantization | None = None
    fused_layers: int
    dequantized_base: bool
    gguf: GgufFile | None = None
    seconds: float


def options_message(options: ExportOptions) -> xpb.ExportOptions:
    """The contract message of export options (a request body that extends them gives only their fields)."""
    return ParseDict(options.model_dump(include=set(_OPTIONS), exclude_none=True), xpb.ExportOptions())


def options_from_message(message: xpb.ExportOptions) -> ExportOptions:
    """Export options from their contract message, validated."""
    return ExportOptions.model_validate(MessageToDict(message, preserving_proto_field_name=True))


def result_message(result: ExportResult) -> xpb.ExportResult:
    """The contract message of an export's result."""
    return ParseDict(result.model_dump(exclude_none=True), xpb.ExportResult())


def result_from_message(message: xpb.ExportResult) -> ExportResult:
    """An export's result from its contract message."""
    fields = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    return ExportResult.model_validate(fields)
