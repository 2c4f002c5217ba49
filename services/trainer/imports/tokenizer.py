"""A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) rebuilt from a GGUF's `tokenizer.*` metadata.

Only llama.cpp's byte-level BPE (`tokenizer.ggml.model` = gpt2) is rebuilt; its pre-tokenizer regex is chosen by
`tokenizer.ggml.pre` the way llama.cpp's llama-vocab.cpp does.
"""

from __future__ import annotations

import json
from pathlib import Path

from services.trainer.imports.metadata import GgufMetadata
from shared.errors import invalid_field

_CONTROL, _USER_DEFINED = 3, 4
_GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}


def _split(pattern: str) -> dict[str, object]:
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def _digits_then_gpt2() -> list[dict[str, object]]:
    return [{"type": "Digits", "individual_digits": True}, _split(_GPT2_SPLIT), _BYTE_LEVEL]


PRE_TOKENIZERS: dict[str, list[dict[str, object]]] = {
    "default": [_split(_GPT2_SPLIT), _BYTE_LEVEL],
    "gpt-2": [_split(_GPT2_SPLIT), _BYTE_LEVEL],
    "smollm": _digits_then_gpt2(),
    "starcoder": _digits_then_gpt2(),
    "refact": _digits_then_gpt2(),
    "llama-bpe": [_split(_LLAMA3_SPLIT), _BYTE_LEVEL],
    "qwen2": [_split(_QWEN2_SPLIT), _BYTE_LEVEL],
}


def write_tokenizer(meta: GgufMetadata, out_dir: Path) -> int:
    """Write tokenizer.json and tokenizer_config.json; returns the vocabulary size."""
    model = meta.text("tokenizer.ggml.model")
    if model != "gpt2":
        raise invalid_field(
            "tokenizer.ggml.model", model, "'gpt2' (byte-level BPE; other tokenizers are not supported)"
        )
    pre = meta.text("tokenizer.ggml.pre", "default")
    if pre not in PRE_TOKENIZERS:
        raise invalid_field("tokenizer.ggml.pre", pre, f"one of {sorted(PRE_TOKENIZERS)}")
    tokens = meta.texts("tokenizer.ggml.tokens")
    types = meta.integers("tokenizer.ggml.token_type")
    if len(types) != len(tokens):
        raise invalid_field("tokenizer.ggml.token_type", f"{len(types)} entries", f"{len(tokens)} (one per token)")
    added = [
        {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": kind == _CONTROL}
        for i, (tok, kind) in enumerate(zip(tokens, types, strict=True))
        if kind in (_CONTROL, _USER_DEFINED)
    ]  # fmt: skip
    special = _special_tokens(meta, tokens)
    add_bos = meta.flag("tokenizer.ggml.add_bos_token", False) and "bos_token" in special
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": PRE_TOKENIZERS[pre]},
        "post_processor": _bos_template(special["bos_token"], tokens) if add_bos else None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {tok: i for i, tok in enumerate(tokens)},
            "merges": meta.texts("tokenizer.ggml.merges"),
        },
    }  # fmt: skip
    config: dict[str, object] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": meta.integer(f"{meta.text('general.architecture')}.context_length", 0) or 2048,
        "clean_up_tokenization_spaces": False,
        "add_bos_token": add_bos,
        **special,
    }
    if "tokenizer.chat_template" in meta:
        config["chat_template"] = meta.text("tokenizer.chat_template")
    (out_dir / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False))
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2))
    return len(tokens)


def _special_tokens(meta: GgufMetadata, tokens: list[str]) -> dict[str, str]:
    special = {}
    for role in ("bos", "eos", "pad", "unknown"):
        key = f"tokenizer.ggml.{role}_token_id"
        if key not in meta:
            continue
        index = meta.integer(key)
        if not 0 <= index < len(tokens):
            raise invalid_field(key, index, f"a token id below the vocabulary size {len(tokens)}")
        special["unk_token" if role == "unknown" else f"{role}_token"] = tokens[index]
    return special


def _bos_template(bos: str, tokens: list[str]) -> dict[str, object]:
    bos_id = tokens.index(bos)
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [
            {"SpecialToken": {"id": bos, "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": bos, "type_id": 1}},
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
    }
