"""The running batch: its rows, their batched KV cache (mlx-lm's BatchKVCache) and one forward pass per step.

New rows are prefilled together (right-padded, as mlx-lm's BatchGenerator does, then rolled to left padding)
with all but their last prompt token, then join the batch; each row keeps its own cache offset and mask.
Steps are pipelined like mlx-lm's: the next step's graph is queued with `async_eval` before the tokens of the
current one are read back, so on a GPU Python's bookkeeping overlaps the model's compute (on the CPU, MLX
evaluates inside `async_eval`, so there is nothing to overlap and nothing lost).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import mlx.core as mx
from mlx import nn
from mlx_lm.models.cache import make_prompt_cache

from services.inference.engine.api import TokenLogprob
from services.inference.engine.constraints import RowConstraint, mask_logits
from services.inference.engine.multi_lora import BASE_PLAN, MultiLoRAModel, RoutingPlan, plan_for
from services.inference.engine.penalties import RowPenalties, adjust
from services.inference.engine.row import Row
from services.inference.engine.sampling import BatchSampling, initial_keys, sample

PREFILL_STEP = 512


def batch_cache(model: nn.Module, size: int) -> list[Any]:
    """An empty batched cache for `size` rows (fails for models whose cache cannot be batched)."""
    per_row = [make_prompt_cache(model) for _ in range(size)]
    return [layer[0].merge(list(layer)) for layer in zip(*per_row, strict=True)]


def prefill(lora: MultiLoRAModel, rows: Sequence[Row], step: int = PREFILL_STEP) -> list[Any]:
    """Run every prompt token but the last through the model; returns the new rows' batched cache."""
    model = lora.model
    cache = batch_cache(model, len(rows))
    tokens = [row.job.prompt[:-1] for row in rows]
    lengths = [len(t) for t in tokens]
    longest = max(lengths)
    if longest == 0:
        return cache
    padding = [longest - n for n in lengths]
    if max(padding) > 0:
        for layer in cache:
            layer.prepare(lengths=lengths, right_padding=padding)
    inputs = mx.array([t + [0] * p for t, p in zip(tokens, padding, strict=True)])
    lora.route(plan_for([row.routing_key for row in rows]))
    for start in range(0, longest, step):
        model(inputs[:, start : start + step], cache=cache)
        mx.eval([layer.state for layer in cache])
    if max(padding) > 0:
        for layer in cache:
            layer.finalize()
        mx.eval([layer.state for layer in cache])
    return cache


class DecodeBatch:
    """The rows being generated, in cache order, with what each feeds next and its PRNG key."""

    def __init__(self, lora: MultiLoRAModel, token_text: Callable[[int], str] = str) -> None:
        self.lora = lora
        self.token_text = token_text  # a token's text, for logprobs
        self.model = lora.model
        self.rows: list[Row] = []
        self._cache: list[Any] = []
        self._pending: mx.array | None = None  # [B] tokens to feed next (sampled, or the last prompt token)
        self._keys: mx.array | None = None  # [B, 2] each row's PRNG key
        self._plan: RoutingPlan = BASE_PLAN
        self._sampling = BatchSampling.of([])

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, rows: Sequence[Row], cache: list[Any]) -> None:
        """Append prefilled rows; their first step feeds their last prompt token."""
        last = mx.array([row.job.prompt[-1] for row in rows], dtype=mx.uint32)
        keys = initial_keys([row.sampling for row in rows])
        if not self.rows:
            self._cache, self._pending, self._keys = cache, last, keys
        else:
            assert self._pending is not None and self._keys is not None
            for mine, theirs in zip(self._cache, cache, strict=True):
                mine.extend(theirs)
            self._pending = mx.concatenate([self._pending, last])
            self._keys = mx.concatenate([self._keys, keys])
        self.rows.extend(rows)
        self._recompose()

    def keep(self, indices: list[int]) -> None:
        """Drop every row not in `indices` (finished or cancelled), freeing their cache space."""
        if len(indices) == len(self.rows):
            return
        if not indices:
            self.rows, self._cache, self._pending, self._keys = [], [], None, None
        else:
            assert self._pending is not None and self._keys is not None
            for layer in self._cache:
                layer.filter(indices)
            index = mx.array(indices)
            self._pending, self._keys = self._pending[index], self._keys[index]
            self.rows = [self.rows[i] for i in indices]
        self._recompose()

    def step(self) -> list[int]:
        """Queue one forward pass for all rows and return the tokens it consumed (those of the previous step)."""
        assert self._pending is not None and self._keys is not None
        inputs = self._pending
        self.lora.route(self._plan)
        logits = self.model(inputs[:, None], cache=self._cache)[:, -1, :]
        if any(row.penalties is not None for row in self.rows):
            logits = adjust(logits, self._count_generated(inputs))
        if any(row.constraint is not None for row in self.rows):
            logits = mask_logits(logits, self._advance_constraints(inputs))
        tokens, keys = sample(logits, self._sampling, self._keys)
        mx.async_eval(tokens, keys)  # type: ignore[no-untyped-call]  # mlx's stub leaves async_eval unannotated
        if any(row.logprobs is not None for row in self.rows):
            self._record_logprobs(logits, tokens)
        self._pending, self._keys = tokens, keys
        return cast(list[int], inputs.tolist())  # a 1-D integer array; mlx types tolist() as any nesting

    def _record_logprobs(self, logits: mx.array, tokens: mx.array) -> None:
        """Each asking row's log-probability of the token just sampled and of its top alternatives.

        The distribution is the model's (after a grammar's mask), before temperature and top-p, as OpenAI reports
        it. Waiting for these values costs the batch its pipelining for this step.
        """
        logprobs = logits.astype(mx.float32) - mx.logsumexp(logits.astype(mx.float32), axis=-1, keepdims=True)
        chosen = mx.take_along_axis(logprobs, tokens[:, None].astype(mx.int32), axis=-1)[:, 0]
        k = max(row.logprobs or 0 for row in self.rows)
        top = mx.argsort(-logprobs, axis=-1)[:, :k] if k else None
        top_values = None if top is None else mx.take_along_axis(logprobs, top, axis=-1)
        mx.eval(chosen, *(a for a in (top, top_values) if a is not None))
        sampled, values = cast(list[int], tokens.tolist()), cast(list[float], chosen.tolist())
        ids = [] if top is None else cast(list[list[int]], top.tolist())
        alternatives = [] if top_values is None else cast(list[list[float]], top_values.tolist())
        for i, row in enumerate(self.rows):
            row.consumed_logprob = row.sampled_logprob
            if row.logprobs is None:
                continue
            best = (
                tuple(
                    (t, self.token_text(t), v)
                    for t, v in zip(ids[i][: row.logprobs], alternatives[i][: row.logprobs], strict=True)
                )
                if ids
                else ()
            )
            row.sampled_logprob = TokenLogprob(sampled[i], self.token_text(sampled[i]), values[i], best)

    def _count_generated(self, inputs: mx.array) -> list[RowPenalties | None]:
        """Count each penalised row's last generated token (waiting for it, as for a grammar)."""
        fed = cast(list[int], inputs.tolist())
        for row, token in zip(self.rows, fed, strict=True):
            if row.penalties is not None and not row.feeding_prompt:
                row.penalties.counts[token] += 1
        return [row.penalties for row in self.rows]

    def _advance_constraints(self, inputs: mx.array) -> list[RowConstraint | None]:
        """Feed each constrained row the token it generated last (waiting for it: this batch gives up pipelining)."""
        fed = cast(list[int], inputs.tolist())
        for row, token in zip(self.rows, fed, strict=True):
            if row.constraint is not None and not row.feeding_prompt:
                row.constraint.consume(token)
        return [row.constraint for row in self.rows]

    def _recompose(self) -> None:
        self._plan = plan_for([row.routing_key for row in self.rows])
        self._sampling = BatchSampling.of([row.sampling for row in self.rows])
