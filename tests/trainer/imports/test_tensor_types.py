"""Which GGUF tensor types MLX's reader gets right, against llama.cpp's reference dequantization (gguf-py)."""

from __future__ import annotations

from pathlib import Path

import gguf
import mlx.core as mx
import numpy as np
import pytest

from services.trainer.imports.header import QUANTIZED_TRIPLE_TYPES, READABLE_TYPES, REREAD_TYPES, read_header
from services.trainer.imports.q4_k import read_q4_k
from tests.trainer.imports.builders import k_quant_file

Q = gguf.GGMLQuantizationType


def mlx_reads(path: Path) -> np.ndarray:
    arrays = mx.load(str(path))
    value = arrays["blk.0.ffn_up.weight"]
    if "blk.0.ffn_up.scales" in arrays:
        scales, biases = arrays["blk.0.ffn_up.scales"], arrays["blk.0.ffn_up.biases"]
        bits = value.shape[-1] // scales.shape[-1]
        value = mx.dequantize(value, scales.astype(mx.float32), biases.astype(mx.float32), group_size=32, bits=bits)
    return np.array(value.astype(mx.float32))


@pytest.mark.parametrize("qtype", [Q.Q4_0, Q.Q4_1, Q.Q8_0, Q.BF16])
def test_triples_and_bf16_are_read_exactly(qtype: gguf.GGMLQuantizationType, tmp_path: Path) -> None:
    assert qtype.name in READABLE_TYPES
    source = (np.random.default_rng(0).standard_normal((8, 256)) * 0.05).astype(np.float32)
    raw = gguf.quants.quantize(source, qtype)
    writer = gguf.GGUFWriter(str(tmp_path / "m.gguf"), "llama")
    writer.add_tensor("blk.0.ffn_up.weight", raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert np.array_equal(mlx_reads(tmp_path / "m.gguf"), gguf.quants.dequantize(raw, qtype))
    assert (qtype.name in QUANTIZED_TRIPLE_TYPES) == (qtype != Q.BF16)


@pytest.mark.parametrize("qtype", [Q.Q2_K, Q.Q6_K])
def test_readable_k_quants_match_llama_cpp_to_float16(qtype: gguf.GGMLQuantizationType, tmp_path: Path) -> None:
    assert qtype.name in READABLE_TYPES
    path, reference = k_quant_file(tmp_path / "m.gguf", qtype)
    assert np.allclose(mlx_reads(path), reference, rtol=1e-3, atol=1e-4)


def test_mlx_still_misreads_q4_k(tmp_path: Path) -> None:
    """When this fails, MLX reads Q4_K correctly: drop it from REREAD_TYPES (and q4_k.py)."""
    assert "Q4_K" in REREAD_TYPES
    path, reference = k_quant_file(tmp_path / "m.gguf", Q.Q4_K)
    assert not np.allclose(mlx_reads(path), reference, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_our_q4_k_reader_repacks_exactly(seed: int, tmp_path: Path) -> None:
    path, reference = k_quant_file(tmp_path / "m.gguf", Q.Q4_K, seed=seed)
    packed, scales, biases = read_q4_k(path, read_header(path).tensors[0])
    assert np.array_equal(np.array(mx.dequantize(packed, scales, biases, group_size=32, bits=4)), reference)
