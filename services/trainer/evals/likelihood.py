"""Log-likelihood of token sequences under an MLX language model, padding-aware and batched.

Two uses: the summed NLL of the loss tokens of whole sequences (perplexity, with the masks training uses), and
the log-probability of candidate continuations of one prompt (multiple choice). Sequences are right-padded; in a
causal model padding after a token cannot change that token's logits, and padded positions carry mask 0, so a
sequence scores the same alone or in a batch (to float rounding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import mlx.core as mx
import numpy as np
from mlx.nn.layers.base import Module
from mlx_lm.models.cache import KVCache, make_prompt_cache

from services.trainer.core.data import Example, make_batch
from services.trainer.core.losses import token_cross_entropy
from services.trainer.core.tokenization import common_prefix
from shared.errors import invalid_field

SHARED_PREFIX_MIN_TOKENS = 32  # continuations of a shorter prompt are scored as whole rows


class LanguageModel(Protocol):
    """A causal language model as mlx-lm loads it: token ids (B, T) in, next-token logits (B, T, vocab) out."""

    def __call__(self, inputs: mx.array) -> mx.array: ...


@dataclass(frozen=True)
class SequenceScore:
    """Summed NLL (nats) over the loss tokens of one sequence, and how many loss tokens there were."""

    sum_nll: float
    tokens: int


@dataclass(frozen=True)
class ContinuationScore:
    """log P(continuation | prompt): summed over its tokens, the token count, and the per-token mean."""

    text: str
    logprob: float
    tokens: int

    @property
    def mean(self) -> float:
        return self.logprob / self.tokens if self.tokens else -math.inf


def hf_tokenizer(tokenizer: Any) -> Any:
    """The Hugging Face tokenizer inside a mlx-lm TokenizerWrapper (or the argument itself)."""
    return getattr(tokenizer, "_tokenizer", tokenizer)


def pad_id_of(tokenizer: Any) -> int:
    """The id to pad batches with: the tokenizer's pad token, else its EOS, else 0."""
    hf = hf_tokenizer(tokenizer)
    for candidate in (getattr(hf, "pad_token_id", None), getattr(hf, "eos_token_id", None)):
        if isinstance(candidate, int):
            return candidate
    return 0


def encode(tokenizer: Any, text: str, *, add_special_tokens: bool) -> list[int]:
    """The token ids of `text`, with or without the tokenizer's BOS & co."""
    return list(hf_tokenizer(tokenizer)(text, add_special_tokens=add_special_tokens)["input_ids"])


def wants_special_tokens(tokenizer: Any, text: str) -> bool:
    """Whether encoding `text` should add BOS & co.: not when the text already starts with BOS (as mlx-lm decides)."""
    bos = getattr(hf_tokenizer(tokenizer), "bos_token", None)
    return not (isinstance(bos, str) and bos and text.startswith(bos))


def token_nll(model: LanguageModel, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-token NLL, shape (B, T − 1): entry t is −log P(tokens[:, t + 1] | tokens[:, :t + 1]) times mask[:, t]."""
    inputs = mx.array(np.asarray(tokens, dtype=np.int32))
    logits = model(inputs[:, :-1])
    nll = token_cross_entropy(logits, inputs[:, 1:]) * mx.array(np.asarray(mask, dtype=np.float32))
    mx.eval(nll)
    return np.array(nll, dtype=np.float64)


def sequence_nll(
    model: LanguageModel,
    sequences: Sequence[Example],
    *,
    pad_id: int,
    batch_size: int,
    max_seq_length: int | None = None,
) -> list[SequenceScore]:
    """Summed masked NLL of each sequence, in input order.

    Sequences are grouped by length (fewer padded positions) into batches of `batch_size`; `max_seq_length` caps
    the padded width as training does (None: pad to the longest sequence of the batch only).
    """
    if batch_size < 1:
        raise invalid_field("batch_size", batch_size, "an integer >= 1")
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i].tokens))
    ones = np.ones(len(sequences), dtype=np.float32)
    out: list[SequenceScore | None] = [None] * len(sequences)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        longest = max(len(sequences[i].tokens) for i in chunk)
        batch = make_batch(
            sequences, chunk, ones, pad_id=pad_id, max_seq_length=longest if max_seq_length is None else max_seq_length
        )
        nll = token_nll(model, batch.tokens, batch.mask)
        for row, index in enumerate(batch.indices):
            out[index] = SequenceScore(sum_nll=float(nll[row].sum()), tokens=int(batch.mask[row].sum()))
    return [score for score in out if score is not None]


def continuation_logprobs(
    model: LanguageModel,
    tokenizer: Any,
    prompt: str,
    continuations: Sequence[str],
    *,
    add_special_tokens: bool | None = None,
) -> list[ContinuationScore]:
    """Log P(c | prompt) for each continuation c, all in one forward pass.

    prompt + c is tokenized as one string, and the tokens after those it shares with the prompt tokenized alone
    are scored: a tokenizer that merges characters across the boundary (e.g. "Answer:" + " A") then scores the
    merged token, which depends on c, rather than a token sequence the model would never see.
    `add_special_tokens` None: add BOS unless the prompt already starts with it (a rendered chat template
    usually carries its own; pass False for those).
    """
    if not continuations:
        return []
    special = wants_special_tokens(tokenizer, prompt) if add_special_tokens is None else add_special_tokens
    eos = getattr(hf_tokenizer(tokenizer), "eos_token_id", None)
    prompt_ids = encode(tokenizer, prompt, add_special_tokens=special)
    if special and len(prompt_ids) > 1 and prompt_ids[-1] == eos:
        prompt_ids = prompt_ids[:-1]  # a tokenizer that appends EOS: the prompt does not end the text
    rows: list[Example] = []
    for i, text in enumerate(continuations):
        ids = encode(tokenizer, prompt + text, add_special_tokens=special)
        if special and len(ids) > 1 and ids[-1] == eos and prompt_ids[-1:] != [eos]:
            ids = ids[:-1]
        start = max(common_prefix(prompt_ids, ids), 1)  # the first token has no context to be scored in
        if start >= len(ids):
            raise invalid_field(f"continuations[{i}]", text, "text that adds at least one token after the prompt")
        mask = np.zeros(len(ids) - 1, dtype=np.float32)
        mask[start - 1 :] = 1.0
        rows.append(Example(tokens=np.asarray(ids, dtype=np.int32), mask=mask, line=i + 1))
    shared = min(max(common_prefix(prompt_ids, row.tokens.tolist()), 1) for row in rows)
    scores = None
    if len(rows) > 1 and shared >= SHARED_PREFIX_MIN_TOKENS:
        scores = shared_prefix_nll(model, rows, shared, pad_id=pad_id_of(tokenizer))
    if scores is None:
        scores = sequence_nll(model, rows, pad_id=pad_id_of(tokenizer), batch_size=len(rows))
    return [
        ContinuationScore(text=text, logprob=-score.sum_nll, tokens=score.tokens)
        for text, score in zip(continuations, scores, strict=True)
    ]


def shared_prefix_nll(
    model: LanguageModel, rows: Sequence[Example], shared: int, *, pad_id: int
) -> list[SequenceScore] | None:
    """Each row's summed masked NLL with their first `shared` tokens (the same in every row) run once.

    The prompt's keys and values are computed once and copied to every row, whose own tokens follow them; the
    scores equal `sequence_nll`'s to float rounding. None for a model without plain KV caches (score whole rows).
    """
    if not isinstance(model, Module) or not 1 <= shared < min(len(row.tokens) for row in rows):
        return None
    cache = make_prompt_cache(model)
    if not all(type(layer) is KVCache for layer in cache):
        return None
    call = cast(Any, model)  # mlx-lm's models take the cache as a keyword
    last = call(mx.array(rows[0].tokens[None, :shared]), cache=cache)[:, -1:, :]  # predicts token `shared`
    n = len(rows)
    for layer in cache:
        keys, values = layer.keys[..., : layer.offset, :], layer.values[..., : layer.offset, :]
        layer.state = (mx.repeat(keys, n, axis=0), mx.repeat(values, n, axis=0), layer.offset)
    width = max(len(row.tokens) for row in rows) - shared
    tails = np.full((n, width), pad_id, dtype=np.int32)
    masks = np.zeros((n, width), dtype=np.float32)
    for i, row in enumerate(rows):
        tail = row.tokens[shared:]
        tails[i, : len(tail)] = tail
        masks[i, : len(tail)] = row.mask[shared - 1 :]  # mask[t] marks the target tokens[t + 1]
    logits = call(mx.array(tails), cache=cache)
    logits = mx.concatenate([mx.repeat(last, n, axis=0), logits[:, :-1, :]], axis=1)
    nll = token_cross_entropy(logits, mx.array(tails)) * mx.array(masks)
    mx.eval(nll)
    sums = np.array(nll, dtype=np.float64).sum(axis=1)
    return [SequenceScore(sum_nll=float(sums[i]), tokens=int(masks[i].sum())) for i in range(n)]
