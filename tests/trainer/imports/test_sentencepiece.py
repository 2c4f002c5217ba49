"""A SentencePiece-BPE GGUF (Llama 2 / Mistral style): the rebuilt tokenizer splits text as SentencePiece does."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sentencepiece as spm
from mlx_lm import load
from tokenizers import Tokenizer

from services.trainer.imports import import_gguf
from services.trainer.imports.sentencepiece import merges_from_scores
from tests.trainer.imports.builders import Vocab, hf_weights, write_gguf

CORPUS = [
    "The archive holds letters written between 1870 and 1923 by witnesses of the harbour trade.",
    "Primary sources are weighed against later retellings; the older record usually wins.",
    "She wrote: the ships left at dawn, carrying salt, timber and 42 barrels of oil.",
    "Hello world, hello again. Measured twice, cut once.",
]
SAMPLES = [
    "Hello world",
    "The harbour trade in 1871 carried 17 barrels.",
    "  leading spaces and  double  spaces ",
    "unseen characters: café, naïve, 東京, emoji 🙂",
    "line one\nline two\ttabbed",
]


@pytest.fixture(scope="module")
def processor() -> spm.SentencePieceProcessor:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20),
        model_writer=model,
        model_type="bpe",
        vocab_size=420,
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def sentencepiece_vocab(sp: spm.SentencePieceProcessor) -> Vocab:
    def kind(i: int) -> int:
        return 2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i) else 1

    size = sp.get_piece_size()
    return Vocab(
        model="llama",
        tokens=[sp.id_to_piece(i) for i in range(size)],
        types=[kind(i) for i in range(size)],
        merges=None,
        scores=[sp.get_score(i) for i in range(size)],
        bos=sp.bos_id(),
        eos=sp.eos_id(),
    )


@pytest.fixture(scope="module")
def imported(processor: spm.SentencePieceProcessor, tmp_path_factory: pytest.TempPathFactory) -> Path:
    vocab = sentencepiece_vocab(processor)
    folder = tmp_path_factory.mktemp("spm")
    path = write_gguf(folder / "m.gguf", hf_weights("llama", vocab=len(vocab.tokens)), vocab=vocab)
    return import_gguf(path, folder / "out").model_dir


@pytest.mark.parametrize("text", SAMPLES)
def test_splits_like_sentencepiece(text: str, processor: spm.SentencePieceProcessor, imported: Path) -> None:
    tokenizer = Tokenizer.from_file(str(imported / "tokenizer.json"))
    expected = processor.encode(text)
    got = tokenizer.encode(text, add_special_tokens=False).ids
    assert [processor.id_to_piece(i) for i in got] == [processor.id_to_piece(i) for i in expected]
    assert tokenizer.decode(got) == processor.decode(expected)


def test_loads_in_mlx_lm_with_bos_added(processor: spm.SentencePieceProcessor, imported: Path) -> None:
    _, tokenizer = load(str(imported))
    assert tokenizer.encode("Hello world") == [processor.bos_id(), *processor.encode("Hello world")]
    assert tokenizer.eos_token == "</s>"


def test_merges_follow_scores_then_lengths() -> None:
    tokens = ["a", "b", "c", "ab", "bc", "abc"]
    assert merges_from_scores(tokens, [0, 0, 0, -1.0, -2.0, -0.5]) == [["ab", "c"], ["a", "bc"], ["a", "b"], ["b", "c"]]
