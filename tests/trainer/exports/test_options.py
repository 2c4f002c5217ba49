"""ExportOptions: defaults, the request-body form and its round trip, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import InvalidArgument
from shared.schemas.export import ExportOptions, QuantizeConfig


def test_defaults_keep_the_base_dtype_and_do_not_quantize() -> None:
    options = ExportOptions.model_validate({})
    assert options == ExportOptions() == ExportOptions.model_validate({})
    assert options.quantize_bits is None and options.quantization is None and not options.quantized
    assert options.group_size == 64 and options.gguf is False and options.dtype is None


def test_full_mapping_and_round_trip() -> None:
    options = ExportOptions.model_validate({"quantize": {"bits": 4, "group_size": 32}, "dtype": "bfloat16"})
    assert (options.quantize_bits, options.group_size, options.dtype) == (4, 32, "bfloat16")
    assert options.quantization == {"bits": 4, "group_size": 32, "mode": "affine"}
    assert ExportOptions.model_validate(options.model_dump()) == options
    gguf = ExportOptions.model_validate({"gguf": True, "dtype": "float32"})
    assert ExportOptions.model_validate(gguf.model_dump()) == gguf
    assert gguf.model_dump() == {"quantize": None, "gguf": True, "dtype": "float32"}


def test_protobuf_shaped_input() -> None:
    """What a message gives: group_size left out when unset, an empty dtype counted as unset."""
    options = ExportOptions.model_validate({"gguf": False, "quantize": {"bits": 8}, "dtype": ""})
    assert (options.quantize_bits, options.group_size, options.dtype) == (8, 64, None)


@pytest.mark.parametrize(
    ("body", "field", "shown"),
    [
        ({"quantize": {"bits": 3}}, "quantize.bits", "3"),
        ({"quantize": {"bits": "4"}}, "quantize.bits", "'4'"),
        ({"quantize": {"bits": True}}, "quantize.bits", "True"),
        ({"quantize": {"bits": 4.0}}, "quantize.bits", "4.0"),
        ({"quantize": {"group_size": 64}}, "quantize.bits", "None"),
        ({"quantize": {"bits": 4, "group_size": 48}}, "quantize.group_size", "48"),
        ({"quantize": {"bits": 4, "mode": "mxfp4"}}, "quantize.mode", "'mxfp4'"),
        ({"quantize": 4}, "quantize", "4"),
        ({"gguf": "yes"}, "gguf", "'yes'"),
        ({"dtype": "int8"}, "dtype", "'int8'"),
        ({"dtype": "fp16"}, "dtype", "'fp16'"),
        ({"dtypo": "float16"}, "dtypo", "'float16'"),
    ],
)
def test_bad_values_name_the_field_and_the_value(body: dict[str, Any], field: str, shown: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        ExportOptions.model_validate(body)
    assert caught.value.param == field
    assert caught.value.message.startswith(f"{field}: got {shown}")


def test_gguf_with_quantize_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidArgument) as caught:
        ExportOptions.model_validate({"gguf": True, "quantize": {"bits": 8}})
    assert caught.value.param == "gguf"
    assert "mlx-lm's GGUF writer" in caught.value.message and "llama-quantize" in caught.value.message


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(InvalidArgument) as caught:
        ExportOptions(quantize=QuantizeConfig(bits=2))  # type: ignore[arg-type]
    assert caught.value.param == "quantize.bits"
    with pytest.raises(InvalidArgument) as caught:
        ExportOptions(quantize=QuantizeConfig(bits=8), gguf=True)
    assert caught.value.param == "gguf"
    with pytest.raises(InvalidArgument):
        ExportOptions.model_validate(["quantize"])
