"""inspect_model: shapes and storage from config.json and safetensors headers, matching what MLX loads."""

from __future__ import annotations

import dataclasses
import json
import shutil
import struct
from pathlib import Path

import mlx_lm
import pytest
from mlx.utils import tree_flatten

from services.trainer.models import ModelInfo, inspect_model
from shared.errors import FailedPrecondition, InvalidArgument


def _mlx_parameter_count(path: Path) -> int:
    model, _ = mlx_lm.load(str(path))
    return sum(v.size for _, v in tree_flatten(model.parameters()))


def test_matches_the_loaded_model(tiny_model: Path) -> None:
    info = inspect_model(tiny_model)
    assert info.num_parameters == _mlx_parameter_count(tiny_model) == 3_737_856
    assert (info.model_type, info.num_layers, info.hidden_size, info.vocab_size) == ("llama", 4, 256, 3072)
    assert (info.intermediate_size, info.num_attention_heads, info.num_key_value_heads) == (704, 4, 2)
    assert (info.context_length, info.dtype, info.quantization_bits) == (2048, "float32", None)
    assert info.weight_bytes == info.num_parameters * 4
    assert info.bytes_on_disk == sum(p.stat().st_size for p in tiny_model.iterdir())
    assert info.block_linears["self_attn.k_proj"] == [256, 128]
    assert info.block_linears["mlp.down_proj"] == [704, 256]


def test_round_trips_through_json(tiny_model: Path) -> None:
    info = inspect_model(tiny_model)
    assert ModelInfo(**json.loads(json.dumps(dataclasses.asdict(info)))) == info
    assert ModelInfo.from_dict(dataclasses.asdict(info)) == info


@pytest.mark.parametrize("bits", [4, 8])
def test_quantised_model(tiny_model: Path, tmp_path: Path, bits: int) -> None:
    out = tmp_path / f"q{bits}"
    mlx_lm.convert(str(tiny_model), mlx_path=str(out), quantize=True, q_bits=bits, q_group_size=64)
    dense, info = inspect_model(tiny_model), inspect_model(out)
    assert info.quantization_bits == bits and info.quantization_group_size == 64
    assert info.num_parameters == dense.num_parameters  # logical count, not packed uint32 words
    assert info.quantized_parameters == dense.num_parameters - 256 * 9  # all but the 9 RMSNorm vectors
    quantized = info.quantized_parameters
    # Packed weights, a float32 scale and bias per group of 64 (converted from float32), float32 norms.
    assert info.weight_bytes == quantized * bits // 8 + quantized // 64 * 2 * 4 + 256 * 9 * 4
    assert info.block_linears == dense.block_linears


def test_not_a_model(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="model_path"):
        inspect_model(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgument):
        inspect_model(tmp_path / "file")
    broken = Path(shutil.copytree(tiny_model, tmp_path / "broken"))
    (broken / "model.safetensors").unlink()
    with pytest.raises(FailedPrecondition, match="model.safetensors"):
        inspect_model(broken)
    (broken / "config.json").unlink()
    with pytest.raises(FailedPrecondition, match="config.json is missing"):
        inspect_model(broken)


def test_broken_files(tiny_model: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(tiny_model, tmp_path / "broken"))
    (broken / "model.safetensors").write_bytes(struct.pack("<Q", 10) + b"not json!!")
    with pytest.raises(FailedPrecondition, match="not JSON"):
        inspect_model(broken)
    (broken / "model.safetensors").write_bytes(b"abc")
    with pytest.raises(FailedPrecondition, match="not a safetensors file"):
        inspect_model(broken)
    shutil.copy(tiny_model / "model.safetensors", broken / "model.safetensors")
    config = json.loads((broken / "config.json").read_text())
    del config["hidden_size"]
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(FailedPrecondition, match="lacks hidden_size"):
        inspect_model(broken)
    (broken / "config.json").write_text("{")
    with pytest.raises(FailedPrecondition, match="config.json"):
        inspect_model(broken)
