"""Tiny GGUFs of each supported architecture import to exactly the weights they were written from, and load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gguf
import mlx.core as mx
import numpy as np
import pytest
from mlx_lm import load
from tokenizers import Tokenizer

from services.trainer.imports import ImportOptions, import_gguf
from services.trainer.imports.byte_level import PRE_TOKENIZERS
from services.trainer.imports.gguf import save_weights
from services.trainer.models.folder import require_model_folder
from shared.errors import InvalidArgument
from tests.trainer.imports.builders import CHAT_TEMPLATE, Vocab, hf_weights, random_k_blocks, write_gguf

Q = gguf.GGMLQuantizationType


def logits(model_dir: Path) -> mx.array:
    model, tokenizer = load(str(model_dir))
    out = model(mx.array([tokenizer.encode("hello")]))
    mx.eval(out)
    return out


@pytest.mark.parametrize("variant", ["llama", "llama-bias", "qwen2", "qwen3"])
def test_float_round_trip_undoes_llama_cpp_layout(variant: str, tmp_path: Path) -> None:
    weights, arch = hf_weights(variant), variant.removesuffix("-bias")
    result = import_gguf(write_gguf(tmp_path / "m.gguf", weights, arch=arch), tmp_path / "out")
    imported = mx.load(str(tmp_path / "out" / "model.safetensors"))
    assert set(imported) == set(weights)
    for name, value in weights.items():
        assert np.array_equal(np.array(imported[name]), value), name
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert (config["model_type"], config["tie_word_embeddings"], result.bits) == (arch, True, None)
    assert bool(mx.all(mx.isfinite(logits(tmp_path / "out"))))


@pytest.mark.parametrize("quant", [Q.Q8_0, Q.Q4_0, Q.Q4_1])
def test_quantized_kept_and_dequantized_agree(quant: gguf.GGMLQuantizationType, tmp_path: Path) -> None:
    weights = hf_weights("llama")
    path = write_gguf(tmp_path / "m.gguf", weights, quant=quant)
    kept = import_gguf(path, tmp_path / "kept", ImportOptions(keep_quantization=True))
    import_gguf(path, tmp_path / "f32", ImportOptions(keep_quantization=False))
    assert (kept.quantization, kept.bits) == (quant.name, 8 if quant == Q.Q8_0 else 4)
    dense = mx.load(str(tmp_path / "f32" / "model.safetensors"))
    tolerance = 0.01 if quant == Q.Q8_0 else 0.03
    assert np.allclose(np.array(dense["model.layers.0.self_attn.q_proj.weight"]),
                       weights["model.layers.0.self_attn.q_proj.weight"], atol=tolerance)  # fmt: skip
    assert np.allclose(np.array(logits(tmp_path / "kept")), np.array(logits(tmp_path / "f32")), atol=1e-3)


def test_dtype_applies_to_dense_tensors(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", hf_weights("llama"))
    import_gguf(path, tmp_path / "out", ImportOptions(dtype="bfloat16"))
    imported = mx.load(str(tmp_path / "out" / "model.safetensors"))
    assert {v.dtype for v in imported.values()} == {mx.bfloat16}


def test_tokenizer_and_chat_template_come_from_the_metadata(tmp_path: Path) -> None:
    import_gguf(write_gguf(tmp_path / "m.gguf", hf_weights("llama")), tmp_path / "out")
    _, tokenizer = load(str(tmp_path / "out"))
    ids = tokenizer.encode("hello <|im_end|>")
    assert ids[:2] == [tokenizer.vocab_size - 2, tokenizer.vocab_size - 1]  # the two merges
    assert tokenizer.decode(ids) == "hello <|im_end|>"
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.chat_template == CHAT_TEMPLATE


def test_large_models_are_sharded_the_way_mlx_lm_reads_them(tmp_path: Path) -> None:
    import_gguf(write_gguf(tmp_path / "m.gguf", hf_weights("llama")), tmp_path / "one")
    weights = mx.load(str(tmp_path / "one" / "model.safetensors"))
    (tmp_path / "sharded").mkdir()
    save_weights(weights, tmp_path / "sharded", shard_bytes=64 << 10)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tmp_path / "one" / name, tmp_path / "sharded" / name)
    shards = require_model_folder(tmp_path / "sharded")
    assert len(shards) > 2 and not (tmp_path / "sharded" / "model.safetensors").exists()
    index = json.loads((tmp_path / "sharded" / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(weights)
    assert np.array_equal(np.array(logits(tmp_path / "sharded")), np.array(logits(tmp_path / "one")))


@pytest.mark.parametrize("pre", sorted(PRE_TOKENIZERS))
def test_every_byte_level_pre_tokenizer_builds(pre: str, tmp_path: Path) -> None:
    import_gguf(write_gguf(tmp_path / "m.gguf", hf_weights("llama"), vocab=Vocab(pre=pre)), tmp_path / "out")
    tokenizer = Tokenizer.from_file(str(tmp_path / "out" / "tokenizer.json"))
    assert tokenizer.decode(tokenizer.encode("Hello, World 2024!\n  x").ids) == "Hello, World 2024!\n  x"


def test_an_unknown_pre_tokenizer_names_the_field(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", hf_weights("llama"), vocab=Vocab(pre="mystery"))
    with pytest.raises(InvalidArgument, match="tokenizer.ggml.pre: got 'mystery'"):
        import_gguf(path, tmp_path / "out")


@pytest.mark.parametrize("keep", [True, False])
def test_q4_k_model_imports_exactly(keep: bool, tmp_path: Path) -> None:
    q4_k = gguf.GGMLQuantizationType.Q4_K
    weights = hf_weights("llama", hidden=256, ffn=256)
    raw = {
        name: random_k_blocks(*value.shape, q4_k, seed=i) if value.ndim == 2 else value
        for i, (name, value) in enumerate(weights.items())
    }
    path = write_gguf(tmp_path / "m.gguf", raw, raw_quant=q4_k)
    result = import_gguf(path, tmp_path / "out", ImportOptions(keep_quantization=keep))
    assert (result.quantization, result.bits) == ("Q4_K", 4 if keep else None)
    imported = mx.load(str(tmp_path / "out" / "model.safetensors"))
    for name, value in raw.items():
        if value.ndim != 2:
            continue
        stem = name.removesuffix(".weight")
        got = (
            mx.dequantize(imported[name], imported[f"{stem}.scales"], imported[f"{stem}.biases"], group_size=32, bits=4)
            if keep
            else imported[name]
        )
        assert np.array_equal(np.array(got), gguf.quants.dequantize(value, q4_k)), name
    assert bool(mx.all(mx.isfinite(logits(tmp_path / "out"))))
