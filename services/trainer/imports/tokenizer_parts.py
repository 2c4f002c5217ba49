"""What differs between the tokenizer families a GGUF describes, as pieces of a Hugging Face tokenizer.json."""

from __future__ import annotations

from dataclasses import dataclass

JsonObject = dict[str, object]


@dataclass(frozen=True)
class TokenizerParts:
    """A BPE tokenizer's family-specific parts; `add_bos_default` applies when the file has no add_bos flag."""

    normalizer: JsonObject | None
    pre_tokenizer: JsonObject | None
    decoder: JsonObject
    merges: list[list[str]]
    byte_fallback: bool
    add_bos_default: bool
