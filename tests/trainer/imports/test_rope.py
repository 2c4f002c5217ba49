"""Llama 3 rope scaling: recovered from llama.cpp's `rope_freqs` tensor to the same rotary frequencies in mlx-lm."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
from mlx_lm import load
from mlx_lm.models.rope_utils import Llama3RoPE

from services.trainer.imports import import_gguf
from services.trainer.imports.rope import fit_llama3_scaling
from shared.errors import InvalidArgument
from tests.trainer.imports.builders import hf_weights, write_gguf

LLAMA_3_1 = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
LLAMA_3_2 = LLAMA_3_1 | {"factor": 32.0}


def llama_cpp_rope_freqs(dims: int, base: float, scaling: dict[str, float]) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf.py (LlamaModel.generate_extra_tensors), transcribed."""
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    factors = []
    for freq in 1.0 / (base ** (np.arange(0, dims, 2, dtype=np.float32) / dims)):
        wavelen = 2 * math.pi / freq
        if wavelen < old / high:
            factors.append(1.0)
        elif wavelen > old / low:
            factors.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def mlx_lm_freqs(dims: int, base: float, scaling: dict[str, object]) -> np.ndarray:
    return np.array(Llama3RoPE(dims, base=base, scaling_config=scaling)._freqs)


@pytest.mark.parametrize("scaling", [LLAMA_3_1, LLAMA_3_2])
def test_fitted_scaling_gives_mlx_lm_the_same_frequencies(scaling: dict[str, float]) -> None:
    stored = mx.array(llama_cpp_rope_freqs(128, 500000.0, scaling))
    fitted = fit_llama3_scaling(stored, 128, 500000.0, 8192)
    assert fitted is not None and fitted["rope_type"] == "llama3" and fitted["factor"] == scaling["factor"]
    assert np.allclose(mlx_lm_freqs(128, 500000.0, fitted), mlx_lm_freqs(128, 500000.0, scaling), rtol=1e-4)
    assert fitted["low_freq_factor"] == pytest.approx(1.0, rel=1e-3)
    assert fitted["high_freq_factor"] == pytest.approx(4.0, rel=1e-3)


def test_all_ones_is_no_scaling() -> None:
    assert fit_llama3_scaling(mx.ones(64), 128, 500000.0, 8192) is None


def test_factors_of_another_shape_are_refused() -> None:
    stored = mx.array(np.linspace(1.0, 8.0, 64, dtype=np.float32) ** 2)
    with pytest.raises(InvalidArgument, match="rope_freqs.weight.*do not follow Llama 3 rope scaling"):
        fit_llama3_scaling(stored, 128, 500000.0, 8192)


def test_a_llama_3_gguf_imports_with_its_rope_scaling(tmp_path: Path) -> None:
    scaling = LLAMA_3_1 | {"high_freq_factor": 32.0}  # the tiny model's 8 frequencies need a wider middle band
    extra = {"rope_freqs.weight": llama_cpp_rope_freqs(16, 10000.0, scaling)}
    import_gguf(write_gguf(tmp_path / "m.gguf", hf_weights("llama"), extra_tensors=extra), tmp_path / "out")
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["rope_scaling"]["rope_type"] == "llama3"
    model, _ = load(str(tmp_path / "out"))
    rope = model.model.layers[0].self_attn.rope
    assert np.allclose(np.array(rope._freqs), mlx_lm_freqs(16, 10000.0, scaling), rtol=1e-4)
