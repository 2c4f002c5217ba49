"""llama.cpp's byte-level BPE (`tokenizer.ggml.model` = gpt2) as Hugging Face tokenizer parts.

The pre-tokenizer regex is chosen by `tokenizer.ggml.pre` the way llama.cpp's llama-vocab.cpp does.
"""

from __future__ import annotations

from services.trainer.imports.metadata import GgufMetadata
from services.trainer.imports.tokenizer_parts import TokenizerParts
from shared.errors import invalid_field

_GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_TEKKEN_SPLIT = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
    r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
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
    "llama3": [_split(_LLAMA3_SPLIT), _BYTE_LEVEL],
    "smaug-bpe": [_split(_LLAMA3_SPLIT), _BYTE_LEVEL],
    "falcon3": [_split(_LLAMA3_SPLIT), _BYTE_LEVEL],
    "qwen2": [_split(_QWEN2_SPLIT), _BYTE_LEVEL],
    "deepseek-r1-qwen": [_split(_QWEN2_SPLIT), _BYTE_LEVEL],
    "tekken": [_split(_TEKKEN_SPLIT), _BYTE_LEVEL],
}


def byte_level_parts(meta: GgufMetadata) -> TokenizerParts:
    """Pre-tokenizer by `tokenizer.ggml.pre`, ByteLevel decoder, the file's merges."""
    pre = meta.text("tokenizer.ggml.pre", "default")
    if pre not in PRE_TOKENIZERS:
        raise invalid_field("tokenizer.ggml.pre", pre, f"one of {sorted(PRE_TOKENIZERS)}")
    return TokenizerParts(
        normalizer=None,
        pre_tokenizer={"type": "Sequence", "pretokenizers": PRE_TOKENIZERS[pre]},
        decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        merges=[merge.split(" ", 1) for merge in meta.texts("tokenizer.ggml.merges")],
        byte_fallback=False,
        add_bos_default=False,
    )
