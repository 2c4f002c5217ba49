"""Log-likelihood: batched and padded scoring agrees with a manual unbatched computation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.trainer.core.data import Example
from services.trainer.evals.likelihood import (
    continuation_logprobs,
    encode,
    pad_id_of,
    sequence_nll,
    shared_prefix_nll,
    token_nll,
)
from shared.errors import InvalidArgument
from tests.trainer.evals.builders import manual_logprobs


def _shared(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


@pytest.mark.parametrize("fixture", ["plain_model", "chat_model"])
def test_continuations_match_manual_scoring(fixture: str, request: pytest.FixtureRequest) -> None:
    model, tokenizer = request.getfixturevalue(fixture)
    prompt = "The diary of the ship records that"
    continuations = [" the river", " a comet was observed over the village at night", "s", " measured"]
    scores = continuation_logprobs(model, tokenizer, prompt, continuations)
    prompt_ids = encode(tokenizer, prompt, add_special_tokens=True)
    for text, score in zip(continuations, scores, strict=True):
        ids = encode(tokenizer, prompt + text, add_special_tokens=True)
        start = _shared(prompt_ids, ids)
        expected = manual_logprobs(model, ids)[start - 1 :]
        assert score.text == text
        assert score.tokens == len(ids) - start == len(expected)
        assert score.logprob == pytest.approx(expected.sum(), rel=1e-4, abs=1e-4)
        assert score.mean == pytest.approx(expected.mean(), rel=1e-4, abs=1e-4)
        assert score.logprob < 0


@pytest.mark.parametrize("fixture", ["plain_model", "chat_model"])
def test_a_long_prompt_is_run_once_for_all_continuations_and_scores_the_same(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    model, tokenizer = request.getfixturevalue(fixture)
    prompt = "The keeper's logbook of the lighthouse, written on the night of the storm, records that " * 4
    continuations = [" the river", " a comet was observed over the village at night", "s", " measured"]
    prompt_ids = encode(tokenizer, prompt, add_special_tokens=True)
    assert len(prompt_ids) >= 32
    scores = continuation_logprobs(model, tokenizer, prompt, continuations)
    rows = []
    for text, score in zip(continuations, scores, strict=True):
        ids = encode(tokenizer, prompt + text, add_special_tokens=True)
        start = _shared(prompt_ids, ids)
        expected = manual_logprobs(model, ids)[start - 1 :]
        assert score.tokens == len(expected)
        assert score.logprob == pytest.approx(expected.sum(), rel=1e-4, abs=1e-4)
        mask = np.zeros(len(ids) - 1, dtype=np.float32)
        mask[start - 1 :] = 1.0
        rows.append(Example(tokens=np.asarray(ids, dtype=np.int32), mask=mask, line=len(rows) + 1))
    shared = min(_shared(prompt_ids, row.tokens.tolist()) for row in rows)
    once = shared_prefix_nll(model, rows, shared, pad_id=pad_id_of(tokenizer))
    whole = sequence_nll(model, rows, pad_id=pad_id_of(tokenizer), batch_size=len(rows))
    assert once is not None and [s.tokens for s in once] == [s.tokens for s in whole]
    assert np.allclose([s.sum_nll for s in once], [s.sum_nll for s in whole], rtol=1e-4, atol=1e-4)


def test_merged_boundary_scores_the_merged_token(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    # "s" glues onto the prompt's last word, so the prompt's own last token is not a prefix of the full text
    prompt = "The letter"
    prompt_ids = encode(tokenizer, prompt, add_special_tokens=True)
    full_ids = encode(tokenizer, prompt + "s", add_special_tokens=True)
    shared = _shared(prompt_ids, full_ids)
    assert shared < len(prompt_ids), "the tokenizer should merge across the boundary for this test"
    [score] = continuation_logprobs(model, tokenizer, prompt, ["s"])
    assert score.tokens == len(full_ids) - shared
    assert score.logprob == pytest.approx(manual_logprobs(model, full_ids)[shared - 1 :].sum(), rel=1e-4)


def test_empty_continuation_is_an_error(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    with pytest.raises(InvalidArgument) as err:
        continuation_logprobs(model, tokenizer, "The report", [" data", ""])
    assert err.value.param == "continuations[1]"
    assert continuation_logprobs(model, tokenizer, "The report", []) == []


def test_sequence_scores_do_not_depend_on_batching_or_padding(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    rng = np.random.default_rng(0)
    examples = []
    for n in (5, 17, 9, 30, 2):
        tokens = rng.integers(3, 500, size=n).astype(np.int32)
        mask = (rng.random(n - 1) < 0.7).astype(np.float32)
        mask[-1] = 1.0
        examples.append(Example(tokens=tokens, mask=mask, line=n))
    alone = [sequence_nll(model, [e], pad_id=pad_id_of(tokenizer), batch_size=1)[0] for e in examples]
    together = sequence_nll(model, examples, pad_id=pad_id_of(tokenizer), batch_size=3, max_seq_length=64)
    for example, a, b in zip(examples, alone, together, strict=True):
        manual = -(manual_logprobs(model, example.tokens.tolist()) * example.mask).sum()
        assert a.tokens == b.tokens == int(example.mask.sum())
        assert a.sum_nll == pytest.approx(manual, rel=1e-4)
        assert b.sum_nll == pytest.approx(manual, rel=1e-4)


def test_token_nll_is_zero_where_masked(plain_model: tuple[Any, Any]) -> None:
    model, _ = plain_model
    tokens = np.array([[1, 40, 41, 42, 0, 0]], dtype=np.int32)
    mask = np.array([[1, 1, 1, 0, 0]], dtype=np.float32)
    nll = token_nll(model, tokens, mask)
    assert nll.shape == (1, 5)
    assert (nll[0, :3] > 0).all() and (nll[0, 3:] == 0).all()
    with pytest.raises(InvalidArgument):
        sequence_nll(model, [], pad_id=0, batch_size=0)
