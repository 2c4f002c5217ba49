"""Records to tokens and loss masks: text, chat (assistant tokens only), prompt + completion (completion only),
truncation, padding, the seeded data order, and the errors for bad or unscored records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlx_lm import load

from services.trainer.core.data import epoch_order, load_examples, make_batch, padded_length
from services.trainer.core.tokenization import Tokenization
from shared.errors import InvalidArgument
from tests.trainer.core.builders import write_jsonl


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path):  # type: ignore[no-untyped-def]
    return load(str(tiny_model))[1]


def counted_text(tokenizer, tokens: np.ndarray, mask: np.ndarray) -> str:  # type: ignore[no-untyped-def]
    """The decoded text of the tokens that count in the loss (targets tokens[1:] where mask is 1)."""
    return tokenizer.decode(tokens[1:][mask == 1].tolist())


def test_text_counts_every_token_with_bos_and_eos(tokenizer) -> None:  # type: ignore[no-untyped-def]
    tok = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    tokens, mask = tok.encode({"text": "The letter was recorded."})
    assert tokens[0] == tokenizer.bos_token_id and tokens[-1] == tokenizer.eos_token_id
    assert mask.shape == (len(tokens) - 1,) and mask.all()
    assert counted_text(tokenizer, tokens, mask) == "The letter was recorded.</s>"


def test_chat_completion_only_counts_exactly_the_assistant_turns(tokenizer) -> None:  # type: ignore[no-untyped-def]
    messages = [
        {"role": "system", "content": "Prefer primary sources."},
        {"role": "user", "content": "Where is the diary?"},
        {"role": "assistant", "content": "The diary is in the archive."},
        {"role": "user", "content": "And the letter?"},
        {"role": "assistant", "content": "The letter was observed."},
    ]
    tok = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    tokens, mask = tok.encode({"messages": messages})
    assert tokens.tolist() == tokenizer.apply_chat_template(messages)  # the template's own tokens
    assert counted_text(tokenizer, tokens, mask) == (
        "The diary is in the archive.<|im_end|>\nThe letter was observed.<|im_end|>\n"
    )
    # no prompt token counts: every counted token lies inside an assistant reply (+ its end-of-turn marker)
    full = Tokenization(tokenizer, max_seq_length=512, completion_only=False).encode({"messages": messages})
    assert full[0].tolist() == tokens.tolist() and full[1].all()


def test_prompt_completion_counts_only_the_completion(tokenizer) -> None:  # type: ignore[no-untyped-def]
    record = {"prompt": "Where is the patent?", "completion": "The patent is in the field notes."}
    tok = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    tokens, mask = tok.encode(record)  # rendered as a user / assistant exchange (the tokenizer has a template)
    assert counted_text(tokenizer, tokens, mask) == "The patent is in the field notes.<|im_end|>\n"
    plain = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    plain.has_chat_template = False  # no template: prompt + completion + EOS
    tokens, mask = plain.encode({"prompt": "Where is the patent?\n", "completion": "The patent is here."})
    assert tokenizer.decode(tokens.tolist()) == "<s>Where is the patent?\nThe patent is here.</s>"
    assert counted_text(tokenizer, tokens, mask) == "The patent is here.</s>"


def test_truncation_to_max_seq_length(tokenizer) -> None:  # type: ignore[no-untyped-def]
    tok = Tokenization(tokenizer, max_seq_length=16, completion_only=True)
    tokens, mask = tok.encode({"text": " ".join(["The archive recorded the comet."] * 20)})
    assert len(tokens) == 16 and len(mask) == 15


def test_padding_is_masked_and_shapes_are_bucketed(tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "A."}, {"text": "The river and the village were observed."}])
    tok = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    examples, skipped = load_examples(path, tok, field="training_file", require_scores=False)
    assert skipped == []
    batch = make_batch(examples, [0, 1], np.array([0.5, 2.0]), pad_id=tok.pad_id, max_seq_length=512)
    assert batch.tokens.shape[1] == padded_length(len(examples[1].tokens), 512) == 33
    short = len(examples[0].tokens)
    assert batch.mask[0, : short - 1].all() and not batch.mask[0, short - 1 :].any()
    assert batch.n_loss_tokens == examples[0].n_loss_tokens + examples[1].n_loss_tokens
    assert batch.weights.tolist() == [0.5, 2.0]
    assert padded_length(64, 64) == 64 and padded_length(2, 64) == 33 and padded_length(34, 512) == 65


def test_epoch_order_is_a_seeded_permutation() -> None:
    a = epoch_order(3, 0, 50)
    assert sorted(a.tolist()) == list(range(50))
    assert np.array_equal(a, epoch_order(3, 0, 50))
    assert not np.array_equal(a, epoch_order(3, 1, 50)) and not np.array_equal(a, epoch_order(4, 0, 50))


def test_missing_scores_name_the_lines(tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = [
        {"text": "A b.", "auth_weight": 0.1, "prov_entropy": 2.0},
        {"text": "C d.", "auth_weight": 0.1},
        {"text": "E f.", "auth_weight": 0.1, "prov_entropy": 2.0},
        {"text": "G h."},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", records)
    tok = Tokenization(tokenizer, max_seq_length=64, completion_only=True)
    with pytest.raises(InvalidArgument) as err:
        load_examples(path, tok, field="training_file", require_scores=True)
    assert err.value.param == "training_file" and "lines 2, 4" in err.value.message
    assert len(load_examples(path, tok, field="training_file", require_scores=False)[0]) == 4


def test_malformed_lines_are_reported_with_line_numbers(tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "ok"}\n{"text": \n{"auth_weight": 2.0, "prov_entropy": 1, "text": "x"}\n')
    tok = Tokenization(tokenizer, max_seq_length=64, completion_only=True)
    with pytest.raises(InvalidArgument) as err:
        load_examples(path, tok, field="training_file", require_scores=False)
    assert "lines 2, 3" in err.value.message and "invalid JSON" in err.value.message


def test_records_without_loss_tokens_are_left_out(tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    long_prompt = " ".join(["The witness statement was recorded."] * 30)
    path = write_jsonl(tmp_path / "t.jsonl", [{"prompt": long_prompt, "completion": "Yes."}, {"text": "Fine."}])
    tok = Tokenization(tokenizer, max_seq_length=32, completion_only=True)
    examples, skipped = load_examples(path, tok, field="training_file", require_scores=False)
    assert skipped == [1] and [e.line for e in examples] == [2]


def test_chat_starting_with_the_assistant(tokenizer) -> None:  # type: ignore[no-untyped-def]
    tok = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    tokens, mask = tok.encode(
        {
            "messages": [
                {"role": "assistant", "content": "The comet was observed."},
                {"role": "user", "content": "When?"},
            ]
        }
    )
    assert counted_text(tokenizer, tokens, mask) == "The comet was observed.<|im_end|>\n"


class _NoOffsets:
    """A tokenizer that cannot return character offsets (as a non-"fast" HF tokenizer)."""

    def __init__(self, hf) -> None:  # type: ignore[no-untyped-def]
        self.hf = hf

    def __call__(self, text, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.pop("return_offsets_mapping", False):
            raise NotImplementedError("return_offset_mapping is not available")
        return self.hf(text, **kwargs)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.hf, name)


def test_masks_without_offset_support_match(tokenizer) -> None:  # type: ignore[no-untyped-def]
    records = [
        {
            "messages": [
                {"role": "user", "content": "Where is the diary?"},
                {"role": "assistant", "content": "The diary is in the archive."},
            ]
        },
        {"prompt": "Where is the patent?", "completion": "In the field notes."},
    ]
    fast = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    slow = Tokenization(tokenizer, max_seq_length=512, completion_only=True)
    slow.hf = _NoOffsets(slow.hf)
    for record in records:
        a, b = fast.encode(record), slow.encode(record)
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
    fast.has_chat_template = slow.has_chat_template = False  # plain prompt + completion
    record = {"prompt": "Where is the patent?\n", "completion": "In the field notes."}
    a, b = fast.encode(record), slow.encode(record)
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
