"""Preference pairs to tokens: each side's mask covers its final answer only; batches put chosen rows first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlx_lm import load

from services.trainer.core.data import load_examples
from services.trainer.core.pairs import load_pairs, make_pair_batch
from services.trainer.core.tokenization import Tokenization
from shared.errors import InvalidArgument
from tests.trainer.core.builders import write_jsonl
from tests.trainer.core.test_data import counted_text

CONVERSATION = [
    {"role": "user", "content": "Where is the diary?"},
    {"role": "assistant", "content": "In the archive."},
    {"role": "user", "content": "Which source is better?"},
]
PAIRS = [
    {
        "input": {"messages": CONVERSATION},
        "preferred_output": [{"role": "assistant", "content": "The diary itself, written that day."}],
        "non_preferred_output": [{"role": "assistant", "content": "A later summary."}],
    },
    {"prompt": "Which source?", "chosen": "The letter.", "rejected": "The press release."},
]


@pytest.fixture(scope="module")
def tokenization(tiny_model: Path) -> Tokenization:
    return Tokenization(load(str(tiny_model))[1], max_seq_length=512, completion_only=True)


def test_each_side_counts_its_final_answer_only(tokenization: Tokenization, tmp_path: Path) -> None:
    pairs, left_out = load_pairs(write_jsonl(tmp_path / "p.jsonl", PAIRS), tokenization, field="training_file")
    assert left_out == [] and [p.line for p in pairs] == [1, 2]
    tokenizer = tokenization.tokenizer
    first, second = pairs
    assert counted_text(tokenizer, first.chosen.tokens, first.chosen.mask) == (
        "The diary itself, written that day.<|im_end|>\n"
    )
    assert counted_text(tokenizer, first.rejected.tokens, first.rejected.mask) == "A later summary.<|im_end|>\n"
    assert "In the archive" not in counted_text(tokenizer, first.chosen.tokens, first.chosen.mask)
    assert counted_text(tokenizer, second.chosen.tokens, second.chosen.mask) == "The letter.<|im_end|>\n"
    shared = min(len(first.chosen.tokens), len(first.rejected.tokens))
    prefix = int(np.argmax(first.chosen.tokens[:shared] != first.rejected.tokens[:shared]))
    assert prefix > 10 and not first.chosen.mask[: prefix - 1].any()  # the shared prompt never counts


def test_a_batch_holds_the_chosen_rows_then_the_rejected(tokenization: Tokenization, tmp_path: Path) -> None:
    pairs, _ = load_pairs(write_jsonl(tmp_path / "p.jsonl", PAIRS), tokenization, field="training_file")
    batch = make_pair_batch(pairs, [1, 0], np.array([0.5, 2.0]), pad_id=0, max_seq_length=512)
    assert batch.tokens.shape[0] == 4 and batch.mask.shape == (4, batch.tokens.shape[1] - 1)
    assert batch.tokens[0, : len(pairs[1].chosen.tokens)].tolist() == pairs[1].chosen.tokens.tolist()
    assert batch.tokens[2, : len(pairs[1].rejected.tokens)].tolist() == pairs[1].rejected.tokens.tolist()
    assert batch.weights.tolist() == [2.0, 0.5] and batch.indices == (1, 0)


def test_the_wrong_kind_of_record_is_named_by_line(tokenization: Tokenization, tmp_path: Path) -> None:
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [*PAIRS, {"text": "plain text"}])
    with pytest.raises(InvalidArgument, match=r"line 3: a text record is not a preference pair") as caught:
        load_pairs(mixed, tokenization, field="training_file")
    assert caught.value.param == "training_file"
    with pytest.raises(InvalidArgument, match="line 1: a preference pair is not supervised"):
        load_examples(
            write_jsonl(tmp_path / "p.jsonl", PAIRS), tokenization, field="training_file", require_scores=False
        )


def test_an_answer_cut_off_by_max_seq_length_leaves_its_pair_out(tiny_model: Path, tmp_path: Path) -> None:
    short = Tokenization(load(str(tiny_model))[1], max_seq_length=12, completion_only=True)
    with pytest.raises(InvalidArgument, match="no pair has both answers left"):
        load_pairs(write_jsonl(tmp_path / "p.jsonl", PAIRS[:1]), short, field="training_file")
