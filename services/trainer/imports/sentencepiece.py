"""llama.cpp's SentencePiece BPE (`tokenizer.ggml.model` = llama: Llama 2, Mistral, TinyLlama) as Hugging Face parts.

The layout is the one Hugging Face's Llama tokenizer.json uses: "▁" for spaces via the normalizer, byte fallback
to the `<0xNN>` tokens, and merges recovered from the vocabulary and scores when the file lists none.
"""

from __future__ import annotations

from services.trainer.imports.metadata import GgufMetadata
from services.trainer.imports.tokenizer_parts import JsonObject, TokenizerParts

SPACE = "\u2581"


def sentencepiece_parts(meta: GgufMetadata, tokens: list[str]) -> TokenizerParts:
    """Prefix-space normalizer (unless `tokenizer.ggml.add_space_prefix` is false), byte fallback, merges."""
    normalizers: list[JsonObject] = [{"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]
    decoders: list[JsonObject] = [
        {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]
    if meta.flag("tokenizer.ggml.add_space_prefix", True):
        normalizers.insert(0, {"type": "Prepend", "prepend": SPACE})
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    if "tokenizer.ggml.merges" in meta:
        merges = [merge.split(" ", 1) for merge in meta.texts("tokenizer.ggml.merges")]
    else:
        merges = merges_from_scores(tokens, meta.numbers("tokenizer.ggml.scores"))
    return TokenizerParts(
        normalizer={"type": "Sequence", "normalizers": normalizers},
        pre_tokenizer=None,
        decoder={"type": "Sequence", "decoders": decoders},
        merges=merges,
        byte_fallback=True,
        add_bos_default=True,
    )


def merges_from_scores(tokens: list[str], scores: list[float]) -> list[list[str]]:
    """Every split of a token into two tokens, best score first (Hugging Face's `generate_merges` order)."""
    ids = {token: i for i, token in enumerate(tokens)}
    found: list[tuple[float, int, int, int, int, int, str, str]] = []
    for index, (token, score) in enumerate(zip(tokens, scores, strict=True)):
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            if left in ids and right in ids:
                found.append((-score, -len(left), -len(right), index, ids[left], ids[right], left, right))
    found.sort()
    return [[left, right] for *_, left, right in found]
