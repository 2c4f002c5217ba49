"""The built-in model's tokenizer: byte-level BPE trained on the shipped `corpus/`, with chat markers.

Byte-level BPE can encode any text (unknown characters fall back to bytes), so the small corpus only decides
which merges exist, never what can be written. The files are the ones `transformers.AutoTokenizer` and
`mlx_lm.load` expect next to the weights.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from shared.errors import invalid_field

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

PAD, BOS, EOS = "<|pad|>", "<|bos|>", "<|eos|>"
SYSTEM, USER, ASSISTANT, END_OF_TURN = "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"
# Their order fixes their ids: pad 0, bos 1, eos 2, then the chat markers.
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, SYSTEM, USER, ASSISTANT, END_OF_TURN)

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] not in ['system', 'user', 'assistant'] -%}"
    "{{- raise_exception('Only system, user and assistant roles are supported, got ' + message['role']) -}}"
    "{%- endif -%}"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}"
)


@dataclass(frozen=True)
class SpecialTokenIds:
    """The ids of the special tokens the model's config and generation settings name."""

    pad: int
    bos: int
    eos: int
    end_of_turn: int

    @property
    def stop_ids(self) -> list[int]:
        """Generation stops at the end of the text or at the end of the assistant's turn."""
        return [self.eos, self.end_of_turn]


class AddedTokenEntry(TypedDict):
    """One special token as tokenizer_config.json's `added_tokens_decoder` describes it."""

    content: str
    lstrip: bool
    normalized: bool
    rstrip: bool
    single_word: bool
    special: bool


def corpus_files() -> list[Path]:
    """The shipped corpus's text files, sorted by name; FileNotFoundError when there are none."""
    files = sorted(CORPUS_DIR.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no corpus text under {CORPUS_DIR}")
    return files


def corpus_sha256() -> str:
    """A digest of the corpus's file names and contents: a changed corpus builds a different model."""
    digest = hashlib.sha256()
    for path in corpus_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def train_tokenizer(vocab_size: int) -> Tokenizer:
    """Byte-level BPE trained on the shipped corpus, `vocab_size` entries special tokens included."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS],
    )
    tokenizer.train([str(p) for p in corpus_files()], trainer)
    if tokenizer.get_vocab_size() != vocab_size:
        raise invalid_field(
            "vocab_size", vocab_size, f"at most {tokenizer.get_vocab_size()} (all the merges the shipped corpus has)"
        )
    bos = tokenizer.token_to_id(BOS)
    # Llama-style: every encoded text starts with BOS unless the caller asks for no special tokens.
    tokenizer.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B:1", special_tokens=[(BOS, bos)]),
        ]
    )
    return tokenizer


def _special_ids(tokenizer: Tokenizer) -> dict[str, int]:
    """Each special token's id; ValueError naming those the tokenizer lacks."""
    found = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    ids = {token: i for token, i in found.items() if i is not None}
    missing = [token for token in SPECIAL_TOKENS if token not in ids]
    if missing:
        raise ValueError(f"tokenizer lacks special tokens {missing}")
    return ids


def special_token_ids(tokenizer: Tokenizer) -> SpecialTokenIds:
    """The ids of pad, BOS, EOS and end-of-turn; ValueError when the tokenizer lacks any special token."""
    ids = _special_ids(tokenizer)
    return SpecialTokenIds(pad=ids[PAD], bos=ids[BOS], eos=ids[EOS], end_of_turn=ids[END_OF_TURN])


def _added_tokens_decoder(ids: dict[str, int]) -> dict[str, AddedTokenEntry]:
    return {
        str(i): {
            "content": token,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for token, i in sorted(ids.items(), key=lambda item: item[1])
    }


def write_tokenizer_files(tokenizer: Tokenizer, directory: Path, *, context_length: int) -> SpecialTokenIds:
    """Write tokenizer.json, tokenizer_config.json (with the chat template) and special_tokens_map.json."""
    ids = special_token_ids(tokenizer)
    (directory / "tokenizer.json").write_text(tokenizer.to_str(pretty=True) + "\n", encoding="utf-8")
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "unk_token": None,
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": context_length,
        "padding_side": "right",
        "model_input_names": ["input_ids", "attention_mask"],
        "added_tokens_decoder": _added_tokens_decoder(_special_ids(tokenizer)),
        "chat_template": CHAT_TEMPLATE,
    }
    _write_json(directory / "tokenizer_config.json", config)
    _write_json(directory / "special_tokens_map.json", {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD})
    return ids


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
