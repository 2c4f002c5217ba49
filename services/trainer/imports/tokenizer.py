"""A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) rebuilt from a GGUF's `tokenizer.*` metadata.

Byte-level BPE (`tokenizer.ggml.model` = gpt2) and SentencePiece BPE (= llama) are rebuilt; token_type 3
(control) becomes a special added token and 4 (user-defined) a plain one, as llama.cpp matches both whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from services.trainer.imports.byte_level import byte_level_parts
from services.trainer.imports.metadata import GgufMetadata
from services.trainer.imports.sentencepiece import sentencepiece_parts
from services.trainer.imports.tokenizer_parts import JsonObject, TokenizerParts
from shared.errors import invalid_field

_UNKNOWN, _CONTROL, _USER_DEFINED = 2, 3, 4
_FAMILIES: dict[str, Callable[[GgufMetadata, list[str]], TokenizerParts]] = {
    "gpt2": lambda meta, _tokens: byte_level_parts(meta),
    "llama": sentencepiece_parts,
}


def write_tokenizer(meta: GgufMetadata, out_dir: Path) -> int:
    """Write tokenizer.json and tokenizer_config.json; returns the vocabulary size."""
    family = meta.text("tokenizer.ggml.model")
    if family not in _FAMILIES:
        raise invalid_field("tokenizer.ggml.model", family, f"one of {sorted(_FAMILIES)} (BPE tokenizers)")
    tokens = meta.texts("tokenizer.ggml.tokens")
    types = meta.integers("tokenizer.ggml.token_type")
    if len(types) != len(tokens):
        raise invalid_field("tokenizer.ggml.token_type", f"{len(types)} entries", f"{len(tokens)} (one per token)")
    parts = _FAMILIES[family](meta, tokens)
    special = _special_tokens(meta, tokens)
    add_bos = meta.flag("tokenizer.ggml.add_bos_token", parts.add_bos_default) and "bos_token" in special
    added = [
        {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": kind != _USER_DEFINED}
        for i, (tok, kind) in enumerate(zip(tokens, types, strict=True))
        if kind in (_UNKNOWN, _CONTROL, _USER_DEFINED)
    ]  # fmt: skip
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": parts.normalizer,
        "pre_tokenizer": parts.pre_tokenizer,
        "post_processor": _bos_template(special["bos_token"], tokens) if add_bos else None,
        "decoder": parts.decoder,
        "model": {
            "type": "BPE", "dropout": None, "unk_token": special.get("unk_token") if parts.byte_fallback else None,
            "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": parts.byte_fallback,
            "byte_fallback": parts.byte_fallback, "ignore_merges": False,
            "vocab": {tok: i for i, tok in enumerate(tokens)},
            "merges": parts.merges,
        },
    }  # fmt: skip
    config: JsonObject = {
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
    for role in ("bos", "eos", "padding", "unknown"):
        key = f"tokenizer.ggml.{role}_token_id"
        if key not in meta:
            continue
        index = meta.integer(key)
        if not 0 <= index < len(tokens):
            raise invalid_field(key, index, f"a token id below the vocabulary size {len(tokens)}")
        special[{"padding": "pad_token", "unknown": "unk_token"}.get(role, f"{role}_token")] = tokens[index]
    return special


def _bos_template(bos: str, tokens: list[str]) -> JsonObject:
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
