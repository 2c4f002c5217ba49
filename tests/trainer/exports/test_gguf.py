"""GGUF export: the file's magic, tensors and header, what llama.cpp needs, and the architectures refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlx.core as mx
import pytest
from gguf import GGUFReader
from mlx_lm.gguf import permute_weights

from services.trainer.exports import ExportResult, check_gguf_support, export_gguf, fuse_adapter
from shared.errors import FailedPrecondition
from shared.schemas.export import ExportOptions, QuantizeConfig
from tests.trainer.exports.builders import SIZES, safetensors_names

PER_BLOCK = ("attn_q", "attn_k", "attn_v", "attn_output", "attn_norm", "ffn_gate", "ffn_up", "ffn_down", "ffn_norm")


@pytest.fixture(scope="module")
def exported(export_base: Path, export_adapter: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    root = tmp_path_factory.mktemp("gguf")
    return fuse_adapter(
        export_base,
        export_adapter,
        root / "fused",
        ExportOptions(gguf=True, dtype="float16"),
        gguf_file=root / "fused.gguf",
    )


def _field(reader: GGUFReader, name: str) -> object:
    return reader.fields[name].contents()


def test_gguf_file_has_the_llama_tensors(exported: ExportResult) -> None:
    assert exported.gguf is not None and exported.gguf.parent != exported.path  # the model folder stays clean
    assert exported.gguf.read_bytes()[:4] == b"GGUF"
    tensors, metadata = mx.load(str(exported.gguf), return_metadata=True)
    expected = {f"blk.{i}.{t}.weight" for i in range(SIZES["num_layers"]) for t in PER_BLOCK}
    expected |= {"token_embd.weight", "output_norm.weight"}  # tied embeddings: no output.weight
    assert set(tensors) == expected
    for name, value in tensors.items():
        assert value.dtype == (mx.float32 if value.ndim == 1 else mx.float16), name
    fused = safetensors_names(exported.path)
    q = fused["model.layers.1.self_attn.q_proj.weight"]
    assert mx.array_equal(tensors["blk.1.attn_q.weight"], permute_weights(q, SIZES["num_heads"], SIZES["num_heads"]))
    assert mx.array_equal(tensors["blk.0.ffn_down.weight"], fused["model.layers.0.mlp.down_proj.weight"])
    assert metadata["general.architecture"] == "llama"


def test_gguf_header_describes_model_and_tokenizer(exported: ExportResult) -> None:
    reader = GGUFReader(exported.gguf)
    assert _field(reader, "general.architecture") == "llama"
    assert _field(reader, "general.name") == "fused"
    assert _field(reader, "llama.block_count") == SIZES["num_layers"]
    assert _field(reader, "llama.embedding_length") == SIZES["hidden_size"]
    assert _field(reader, "llama.attention.head_count_kv") == SIZES["num_kv_heads"]
    assert _field(reader, "tokenizer.ggml.model") == "gpt2"  # byte-level BPE, not SentencePiece
    assert _field(reader, "tokenizer.ggml.pre") == "gpt-2"
    tokens = _field(reader, "tokenizer.ggml.tokens")
    assert isinstance(tokens, list) and len(tokens) == SIZES["vocab_size"]
    assert reader.fields["tokenizer.ggml.token_type"].types[-1].name == "INT32"  # what llama.cpp reads
    types = _field(reader, "tokenizer.ggml.token_type")
    assert isinstance(types, list) and types[tokens.index("<|user|>")] == 3  # chat markers are CONTROL tokens
    merges = _field(reader, "tokenizer.ggml.merges")
    assert isinstance(merges, list) and merges and all(m.count(" ") == 1 for m in merges)
    assert _field(reader, "tokenizer.ggml.add_bos_token") is True
    assert "<|assistant|>" in str(_field(reader, "tokenizer.chat_template"))


def test_gguf_runs_in_llama_cpp_when_installed(exported: ExportResult) -> None:
    """llama.cpp tokenizes like the HF tokenizer and greedy-decodes like the fused model (optional dependency)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    import mlx_lm

    from tests.trainer.exports.builders import PROMPTS, greedy

    model, tokenizer = mlx_lm.load(str(exported.path))
    llm = llama_cpp.Llama(model_path=str(exported.gguf), n_ctx=128, verbose=False)
    for prompt in PROMPTS:
        ids = tokenizer.encode(prompt)
        assert llm.tokenize(prompt.encode(), add_bos=True, special=True) == ids
        llm.reset()
        produced = []
        for token in llm.generate(ids, temp=0.0, top_k=1):
            produced.append(token)
            if len(produced) == 10:
                break
        assert produced == greedy(model, tokenizer, prompt)


def test_quantized_or_foreign_models_are_refused(
    export_base: Path, export_adapter: Path, exported: ExportResult, tmp_path: Path
) -> None:
    quantized = fuse_adapter(
        export_base, export_adapter, tmp_path / "q4", ExportOptions(quantize=QuantizeConfig(bits=4))
    )
    with pytest.raises(FailedPrecondition) as caught:
        export_gguf(quantized.path, tmp_path / "q4.gguf")
    assert caught.value.param == "gguf" and "quantized" in caught.value.message
    assert not (tmp_path / "q4.gguf").exists()

    foreign = tmp_path / "gemma"
    shutil.copytree(exported.path, foreign)
    config = json.loads((foreign / "config.json").read_text())
    (foreign / "config.json").write_text(json.dumps({**config, "model_type": "gemma"}))
    with pytest.raises(FailedPrecondition) as caught:
        export_gguf(foreign, tmp_path / "gemma.gguf")
    assert "'gemma'" in caught.value.message and "llama, mistral" in caught.value.message
    with pytest.raises(FailedPrecondition, match="already exists"):
        export_gguf(exported.path, exported.gguf)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"model_type": "mixtral"}, "'mixtral'"),
        ({"model_type": "qwen2"}, "supported: llama, mistral"),
        ({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "'llama3'"),
        ({"model_type": "llama", "quantization": {"bits": 4, "group_size": 64}}, "quantized"),
    ],
)
def test_check_gguf_support(config: dict[str, object], words: str) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_gguf_support(config)
    assert words in caught.value.message
    check_gguf_support({"model_type": "mistral", "rope_scaling": {"type": "linear", "factor": 2.0}})
    check_gguf_support({"model_type": "llama", "quantization": {"bits": 4}}, quantized_ok=True)


def test_unsupported_architecture_fails_before_any_work(
    export_base: Path, export_adapter: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(export_base, base)
    config = json.loads((base / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}}))
    with pytest.raises(FailedPrecondition) as caught:
        fuse_adapter(base, export_adapter, tmp_path / "out", ExportOptions(gguf=True), gguf_file=tmp_path / "x.gguf")
    assert caught.value.param == "gguf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]
