"""Tiny GGUF files written with the `gguf` package: random HF-layout weights laid out as llama.cpp writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

HIDDEN, HEADS, KV_HEADS, LAYERS, FFN = 64, 4, 2, 2, 128
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def byte_tokens() -> list[str]:
    """GPT-2's byte-to-unicode alphabet: the 256 base tokens of every byte-level BPE."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


TOKENS = SPECIALS + byte_tokens() + ["he", "ll"]
MERGES = ["h e", "l l"]
VOCAB = len(TOKENS)


@dataclass(frozen=True)
class Vocab:
    """The `tokenizer.ggml.*` metadata a tiny GGUF carries; by default a byte-level BPE with two merges."""

    model: str = "gpt2"
    pre: str = "default"
    tokens: list[str] = field(default_factory=lambda: TOKENS)
    types: list[int] = field(default_factory=lambda: [3] * len(SPECIALS) + [1] * (VOCAB - len(SPECIALS)))
    merges: list[str] | None = field(default_factory=lambda: MERGES)
    scores: list[float] | None = None
    bos: int = 0
    eos: int = 2


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf.py `permute` (q with n_head, k with n_kv_head)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_weights(
    arch: str, seed: int = 0, vocab: int = VOCAB, hidden: int = HIDDEN, ffn: int = FFN
) -> dict[str, np.ndarray]:
    """Random weights under Hugging Face names for a 2-layer `arch` (llama, llama-bias: with biases, qwen2, qwen3)."""
    rng = np.random.default_rng(seed)
    head_dim = hidden // HEADS

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    weights = {"model.embed_tokens.weight": rand(vocab, hidden), "model.norm.weight": 1 + rand(hidden)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        weights |= {
            p + "self_attn.q_proj.weight": rand(HEADS * head_dim, hidden),
            p + "self_attn.k_proj.weight": rand(KV_HEADS * head_dim, hidden),
            p + "self_attn.v_proj.weight": rand(KV_HEADS * head_dim, hidden),
            p + "self_attn.o_proj.weight": rand(hidden, HEADS * head_dim),
            p + "mlp.gate_proj.weight": rand(ffn, hidden),
            p + "mlp.up_proj.weight": rand(ffn, hidden),
            p + "mlp.down_proj.weight": rand(hidden, ffn),
            p + "input_layernorm.weight": 1 + rand(hidden),
            p + "post_attention_layernorm.weight": 1 + rand(hidden),
        }
        if arch in ("qwen2", "llama-bias"):
            for proj, rows in (("q", HEADS), ("k", KV_HEADS), ("v", KV_HEADS)):
                weights[p + f"self_attn.{proj}_proj.bias"] = rand(rows * head_dim)
        if arch == "llama-bias":
            weights[p + "self_attn.o_proj.bias"] = rand(hidden)
            for proj, rows in (("gate", ffn), ("up", ffn), ("down", hidden)):
                weights[p + f"mlp.{proj}_proj.bias"] = rand(rows)
        if arch == "qwen3":
            weights[p + "self_attn.q_norm.weight"] = 1 + rand(head_dim)
            weights[p + "self_attn.k_norm.weight"] = 1 + rand(head_dim)
    return weights


GGUF_NAMES = {
    "model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
}  # fmt: skip


def gguf_name(hf: str) -> str:
    name = hf.replace("model.layers.", "blk.")
    for ours, theirs in GGUF_NAMES.items():
        name = name.replace(ours, theirs)
    return name


def write_gguf(
    path: Path,
    weights: dict[str, np.ndarray],
    *,
    arch: str = "llama",
    quant: gguf.GGMLQuantizationType | None = None,
    raw_quant: gguf.GGMLQuantizationType | None = None,
    vocab: Vocab | None = None,
    extra_tensors: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write `weights` as llama.cpp would: GGUF names, llama's q/k rows permuted, 2-D weights quantized to `quant`
    (or already blocks of `raw_quant`)."""
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(LAYERS)
    writer.add_context_length(256)
    writer.add_embedding_length(weights["model.norm.weight"].shape[0])
    writer.add_feed_forward_length(weights["model.layers.0.mlp.up_proj.weight"].shape[0])
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    vocab = vocab or Vocab()
    writer.add_tokenizer_model(vocab.model)
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    if vocab.merges is not None:
        writer.add_token_merges(vocab.merges)
    if vocab.scores is not None:
        writer.add_token_scores(vocab.scores)
    writer.add_bos_token_id(vocab.bos)
    writer.add_eos_token_id(vocab.eos)
    writer.add_chat_template(CHAT_TEMPLATE)
    for hf, value in weights.items():
        name = gguf_name(hf)
        if arch == "llama" and (".attn_q." in name or ".attn_k." in name):
            value = permute(value, HEADS if ".attn_q." in name else KV_HEADS)
        if raw_quant is not None and value.ndim == 2:
            writer.add_tensor(name, value, raw_dtype=raw_quant)
        elif quant is not None and value.ndim == 2:
            writer.add_tensor(name, gguf.quants.quantize(value, quant), raw_dtype=quant)
        else:
            writer.add_tensor(name, value)
    for name, value in (extra_tensors or {}).items():
        writer.add_tensor(name, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


# Where each K-quant block keeps its float16 super-block scale(s), set to sane values in random blocks.
K_QUANT_SCALES = {
    gguf.GGMLQuantizationType.Q2_K: {80: 0.01, 82: 0.005},
    gguf.GGMLQuantizationType.Q4_K: {0: 0.01, 2: 0.005},
    gguf.GGMLQuantizationType.Q6_K: {208: 0.01},
}


def random_k_blocks(rows: int, cols: int, qtype: gguf.GGMLQuantizationType, seed: int = 0) -> np.ndarray:
    """`rows` rows of random `qtype` blocks with sane super-block scales (gguf-py cannot quantize K-quants)."""
    block_values, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = np.random.default_rng(seed).integers(0, 256, size=(rows, cols // block_values * block_bytes), dtype=np.uint8)
    blocks = raw.reshape(-1, block_bytes)
    for offset, scale in K_QUANT_SCALES[qtype].items():
        blocks[:, offset : offset + 2] = np.array([scale], dtype=np.float16).view(np.uint8)
    return raw


def k_quant_file(path: Path, qtype: gguf.GGMLQuantizationType, seed: int = 0) -> tuple[Path, np.ndarray]:
    """One K-quant tensor of random blocks, and llama.cpp's reference dequantization of it (gguf-py)."""
    raw = random_k_blocks(4, 512, qtype, seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("blk.0.ffn_up.weight", raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path, gguf.quants.dequantize(raw, qtype)
