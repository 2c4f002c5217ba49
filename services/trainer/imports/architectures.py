"""GGUF architectures the importer maps onto mlx-lm models: config.json, tensor names, llama.cpp's q/k row order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx

from services.trainer.imports.metadata import GgufMetadata
from services.trainer.imports.rope import fit_llama3_scaling
from shared.errors import InvalidArgument, invalid_field

_TOP_LEVEL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_IN_BLOCK = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_NAME = re.compile(r"^(?:blk\.(?P<layer>\d+)\.)?(?P<module>\w+)\.(?P<part>weight|bias|scales|biases)$")


@dataclass(frozen=True)
class Architecture:
    """How one GGUF `general.architecture` becomes an mlx-lm model."""

    gguf_name: str
    model_type: str
    hf_class: str
    # llama.cpp's converter interleaves the rotary halves of q/k rows for these (its `permute`); undone on import.
    permuted_qk: bool
    # Llama 3 files carry their rope scaling as a `rope_freqs` tensor.
    rope_freqs: bool = False


ARCHITECTURES = {
    a.gguf_name: a
    for a in (
        Architecture("llama", "llama", "LlamaForCausalLM", permuted_qk=True, rope_freqs=True),
        Architecture("qwen2", "qwen2", "Qwen2ForCausalLM", permuted_qk=False),
        Architecture("qwen3", "qwen3", "Qwen3ForCausalLM", permuted_qk=False),
    )
}


def architecture_named(name: str | None, path: Path) -> Architecture:
    """The architecture `general.architecture` names, or a clear error naming it when import does not cover it."""
    arch = ARCHITECTURES.get(name or "")
    if arch is None:
        raise InvalidArgument(
            f"file {path}: general.architecture {name!r} is not supported for import "
            f"(supported: {', '.join(sorted(ARCHITECTURES))})",
            param="general.architecture",
        )
    return arch


def build_config(
    arch: Architecture, meta: GgufMetadata, *, vocab_size: int, tied: bool, rope_freqs: mx.array | None
) -> dict[str, object]:
    """config.json for mlx-lm (Hugging Face field names) from the `<arch>.*` metadata keys."""
    p = arch.gguf_name
    hidden, heads = meta.integer(f"{p}.embedding_length"), meta.integer(f"{p}.attention.head_count")
    head_dim = meta.integer(f"{p}.attention.key_length", hidden // heads)
    rope_theta = meta.number(f"{p}.rope.freq_base", 10000.0)
    config: dict[str, object] = {
        "model_type": arch.model_type,
        "architectures": [arch.hf_class],
        "hidden_size": hidden,
        "num_hidden_layers": meta.integer(f"{p}.block_count"),
        "intermediate_size": meta.integer(f"{p}.feed_forward_length"),
        "num_attention_heads": heads,
        "num_key_value_heads": meta.integer(f"{p}.attention.head_count_kv", heads),
        "head_dim": head_dim,
        "rms_norm_eps": meta.number(f"{p}.attention.layer_norm_rms_epsilon"),
        "rope_theta": rope_theta,
        "max_position_embeddings": meta.integer(f"{p}.context_length"),
        "vocab_size": vocab_size,
        "tie_word_embeddings": tied,
    }
    scaling: dict[str, object] | None
    if rope_freqs is not None:
        dims = meta.integer(f"{p}.rope.dimension_count", head_dim)
        context = meta.integer(f"{p}.rope.scaling.original_context_length", 8192)
        scaling = fit_llama3_scaling(rope_freqs, dims, rope_theta, context)
    else:
        scaling = _rope_scaling(p, meta)
    if scaling is not None:
        config["rope_scaling"] = scaling
    return config


def _rope_scaling(prefix: str, meta: GgufMetadata) -> dict[str, object] | None:
    key = f"{prefix}.rope.scaling.type"
    kind = meta.text(key, "none")
    if kind == "none":
        return None
    if kind == "linear":
        return {"type": "linear", "factor": meta.number(f"{prefix}.rope.scaling.factor")}
    raise invalid_field(key, kind, "'none' or 'linear' (other rope scalings are not supported for import)")


def hf_name(gguf_name: str, path: Path) -> str:
    """The Hugging Face parameter name of a GGUF tensor (quantized parts keep `.scales` / `.biases`)."""
    match = _NAME.match(gguf_name)
    table = _IN_BLOCK if match and match["layer"] is not None else _TOP_LEVEL
    if match is None or match["module"] not in table:
        raise InvalidArgument(f"file {path}: tensor {gguf_name!r} is not supported for import", param="file")
    prefix = f"model.layers.{match['layer']}." if match["layer"] is not None else ""
    return f"{prefix}{table[match['module']]}.{match['part']}"


def unpermute_rows(value: mx.array, n_head: int) -> mx.array:
    """Inverse of llama.cpp's `permute` along rows; works on packed quantized weights, scales and biases alike."""
    rows = value.shape[0]
    return value.reshape(n_head, rows // n_head // 2, 2, *value.shape[1:]).swapaxes(1, 2).reshape(value.shape)


def rows_permuted_as(gguf_name: str, arch: Architecture, meta: GgufMetadata) -> int | None:
    """The head count llama.cpp permuted this tensor's rows with, or None when it did not."""
    if not arch.permuted_qk:
        return None
    p = arch.gguf_name
    heads = meta.integer(f"{p}.attention.head_count")
    if ".attn_q." in gguf_name:
        return heads
    if ".attn_k." in gguf_name:
        return meta.integer(f"{p}.attention.head_count_kv", heads)
    return None
