"""GGUF (llama.cpp, LM Studio, Ollama) from a fused, unquantized model folder, with mlx-lm's GGUF helpers.

The tensor layout is mlx-lm's own (`mlx_lm.gguf`): `permute_weights` for the q/k projections (llama.cpp's rotary
layout), `translate_weight_names` for the tensor names, `HfVocab` and `prepare_metadata` for the header, and
`mx.save_gguf` to write. `convert_to_gguf` itself is not called because its output is wrong for some models
this project produces, so the same steps are composed here with these corrections:

* `tokenizer.ggml.token_type` is written as int32, the type llama.cpp reads; mlx-lm writes uint32, and
  llama.cpp (checked with llama-cpp-python 0.3.36) refuses such a file: "invalid gguf type for
  tokenizer.ggml.token_type";
* byte-level BPE tokenizers (the built-in model's, GPT-2's, Llama 3's) are declared as `gpt2` with their merges;
  mlx-lm always declares a SentencePiece (`llama`) vocabulary, which llama.cpp would tokenize wrongly;
* added tokens (chat markers) are typed CONTROL / USER_DEFINED so llama.cpp matches them as single tokens, and
  the BOS flag, pad id and chat template are carried;
* weights are float16 and 1-D tensors (norms, biases) float32, matching the F16 `general.file_type` mlx-lm
  declares (it would otherwise write float32 tensors under an F16 label); q/k biases are permuted like weights;
* an explicit `head_dim` sets the rotary and key/value lengths, and a vocabulary shorter than the embedding is
  padded with unused tokens, as llama.cpp's own converter does.

Supported: the `llama` layout (model types llama and mistral). mlx-lm's fuse also allows mixtral, but its name
mapping expects per-expert weights (`experts.N.w1`) while mlx-lm stores experts stacked (`switch_mlp`), so the
names it would write are not llama.cpp's; mixtral is refused here. RoPE scaling other than linear (e.g. Llama
3.1's `llama3`) is refused too: mlx-lm writes no rope-frequency tensor, so long-context behaviour would change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_lm.gguf import HfVocab, TokenType, permute_weights, prepare_metadata, translate_weight_names
from mlx_lm.utils import load_config, load_model

from shared.errors import FailedPrecondition

SUPPORTED_ARCHITECTURES = ("llama", "mistral")
_ROPE_SCALING_OK = (None, "default", "linear")

# The GGUF header as `mx.save_gguf` takes it: each key's value is an array, a string or a list of strings.
GgufMetadata: TypeAlias = dict[str, mx.array | str | list[str]]

# mlx-lm's GGUF helpers carry no annotations; these are the signatures this module relies on.
_permute_weights: Callable[[mx.array, int, int], mx.array] = permute_weights
_translate_weight_names: Callable[[str], str] = translate_weight_names
_prepare_metadata: Callable[[dict[str, Any], HfVocab], dict[str, Any]] = prepare_metadata


def check_gguf_support(config: Mapping[str, Any], *, quantized_ok: bool = False) -> None:
    """Raise FailedPrecondition naming the reason when a model with this config.json cannot become a GGUF.

    `quantized_ok` skips the quantization check, for a base model the export will dequantize anyway.
    """
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_ARCHITECTURES:
        raise FailedPrecondition(
            f"gguf: architecture {model_type!r} cannot be exported as GGUF; supported: "
            f"{', '.join(SUPPORTED_ARCHITECTURES)} (the llama layout mlx-lm's GGUF writer knows)",
            param="gguf",
        )
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("rope_type") or scaling.get("type")
    if kind not in _ROPE_SCALING_OK:
        raise FailedPrecondition(
            f"gguf: rope_scaling type {kind!r} cannot be carried into GGUF by mlx-lm's writer (only linear "
            f"scaling is); the exported model would behave differently on long inputs",
            param="gguf",
        )
    if not quantized_ok and (config.get("quantization") or config.get("quantization_config")):
        raise FailedPrecondition(
            "gguf: the model is quantized; GGUF is written from unquantized weights only "
            "(mlx-lm's GGUF writer refuses quantized models)",
            param="gguf",
        )


def export_gguf(fused_dir: Path, out_file: Path) -> Path:
    """Write `fused_dir` (an unquantized HF-layout model with tokenizer.json) as the F16 GGUF file `out_file`.

    The file is written next to `out_file` and renamed into place; an existing `out_file` is not overwritten.
    Raises FailedPrecondition for an unsupported architecture, a quantized model or a missing tokenizer.json.
    """
    fused_dir, out_file = Path(fused_dir), Path(out_file)
    if not (fused_dir / "config.json").is_file():
        raise FailedPrecondition(f"{fused_dir} is not a model folder: config.json is missing", param="model")
    config = load_config(fused_dir)
    check_gguf_support(config)
    if not (fused_dir / "tokenizer.json").is_file():
        raise FailedPrecondition(
            f"gguf: {fused_dir} has no tokenizer.json (a fast tokenizer is required to write the GGUF vocabulary)",
            param="gguf",
        )
    if out_file.exists():
        raise FailedPrecondition(f"{out_file} already exists; it is not overwritten", param="out_file")
    model, config = load_model(fused_dir, lazy=True)
    params = model.parameters()  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
    weights = gguf_tensors(dict(tree_flatten(params)), config)
    vocab = HfVocab.load(fused_dir)
    metadata = gguf_metadata(config, vocab, fused_dir)
    metadata["general.name"] = fused_dir.name
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.name}.{os.getpid()}.tmp.gguf")
    try:
        mx.save_gguf(str(tmp), weights, metadata)
        os.replace(tmp, out_file)
    finally:
        tmp.unlink(missing_ok=True)
    return out_file


def gguf_tensors(weights: dict[str, mx.array], config: Mapping[str, Any]) -> dict[str, mx.array]:
    """mlx-lm parameter names and layout → llama.cpp's: permuted q/k, GGUF names, float16 / float32."""
    n_head = int(config["num_attention_heads"])
    n_kv = int(config.get("num_key_value_heads") or n_head)
    out: dict[str, mx.array] = {}
    for name, value in weights.items():
        if ".self_attn.q_proj." in name:
            value = _permute_weights(value, n_head, n_head)
        elif ".self_attn.k_proj." in name:
            value = _permute_weights(value, n_head, n_kv)
        out[_translate_weight_names(name)] = value.astype(mx.float32 if value.ndim < 2 else mx.float16)
    return out


def gguf_metadata(config: Mapping[str, Any], vocab: HfVocab, model_dir: Path) -> GgufMetadata:
    """mlx-lm's `prepare_metadata`, with the corrections listed in the module docstring."""
    raw = _prepare_metadata(dict(config), vocab)
    tokens: list[str] = list(raw["tokenizer.ggml.tokens"])
    types = [int(t) for t in raw["tokenizer.ggml.token_type"].tolist()]
    metadata: GgufMetadata = raw
    _correct_geometry(metadata, config)
    tokenizer_json = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    _correct_vocabulary(metadata, config, tokenizer_json, tokens, types)
    _declare_byte_level(metadata, tokenizer_json)
    _carry_special_tokens(metadata, vocab.tokenizer)
    return metadata


def _correct_geometry(metadata: GgufMetadata, config: Mapping[str, Any]) -> None:
    """An explicit `head_dim` and linear RoPE scaling, which `prepare_metadata` leaves out."""
    hidden, n_head = int(config["hidden_size"]), int(config["num_attention_heads"])
    head_dim = config.get("head_dim")
    if head_dim and int(head_dim) != hidden // n_head:
        for key in ("llama.rope.dimension_count", "llama.attention.key_length", "llama.attention.value_length"):
            metadata[key] = mx.array(int(head_dim), dtype=mx.uint32)
    scaling = config.get("rope_scaling") or {}
    if (scaling.get("rope_type") or scaling.get("type")) == "linear":
        metadata["llama.rope.scaling.type"] = "linear"
        metadata["llama.rope.scaling.factor"] = mx.array(float(scaling["factor"]), dtype=mx.float32)


def _correct_vocabulary(
    metadata: GgufMetadata,
    config: Mapping[str, Any],
    tokenizer_json: Mapping[str, Any],
    tokens: list[str],
    types: list[int],
) -> None:
    """Added tokens typed CONTROL / USER_DEFINED, int32 token types, and padding up to the embedding's size."""
    for added in tokenizer_json.get("added_tokens") or []:
        index = added.get("id")
        if isinstance(index, int) and 0 <= index < len(types):
            types[index] = int(TokenType.CONTROL if added.get("special") else TokenType.USER_DEFINED)
    vocab_size = int(config.get("vocab_size") or len(tokens))
    for index in range(len(tokens), vocab_size):
        tokens.append(f"[PAD{index}]")
        types.append(int(TokenType.UNUSED))
    metadata["tokenizer.ggml.tokens"] = tokens
    metadata["tokenizer.ggml.token_type"] = mx.array(types, dtype=mx.int32)
    metadata["tokenizer.ggml.scores"] = mx.array([-1000.0] * len(tokens), dtype=mx.float32)


def _declare_byte_level(metadata: GgufMetadata, tokenizer_json: Mapping[str, Any]) -> None:
    """A byte-level BPE vocabulary declared as `gpt2` with its merges, as llama.cpp tokenizes it."""
    model = tokenizer_json.get("model") or {}
    if model.get("type") == "BPE" and _is_byte_level(tokenizer_json):
        metadata["tokenizer.ggml.model"] = "gpt2"
        metadata["tokenizer.ggml.pre"] = "gpt-2" if _plain_gpt2_split(tokenizer_json) else "default"
        metadata["tokenizer.ggml.merges"] = [
            m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []
        ]


def _carry_special_tokens(metadata: GgufMetadata, hf: Any) -> None:
    """The pad id, the BOS flag and the chat template of the Hugging Face tokenizer `hf`.

    `hf` is a transformers tokenizer, which this project types no further than Any.
    """
    if hf.pad_token_id is not None:
        metadata["tokenizer.ggml.padding_token_id"] = mx.array(hf.pad_token_id, dtype=mx.uint32)
    if hf.bos_token_id is not None:
        sample = hf("a")["input_ids"]
        metadata["tokenizer.ggml.add_bos_token"] = mx.array(bool(sample) and sample[0] == hf.bos_token_id)
    template = getattr(hf, "chat_template", None)
    if isinstance(template, str) and template:
        metadata["tokenizer.chat_template"] = template


def _is_byte_level(tokenizer_json: Mapping[str, Any]) -> bool:
    def has_byte_level(node: Any) -> bool:
        if not isinstance(node, Mapping):
            return False
        if node.get("type") == "ByteLevel":
            return True
        return any(has_byte_level(child) for child in node.get("pretokenizers") or node.get("decoders") or [])

    return has_byte_level(tokenizer_json.get("pre_tokenizer")) or has_byte_level(tokenizer_json.get("decoder"))


def _plain_gpt2_split(tokenizer_json: Mapping[str, Any]) -> bool:
    """True when pre-tokenization is GPT-2's: a lone ByteLevel pre-tokenizer using its built-in regex."""
    pre = tokenizer_json.get("pre_tokenizer") or {}
    return pre.get("type") == "ByteLevel" and bool(pre.get("use_regex", True))
