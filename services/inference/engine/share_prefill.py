"""Prefill for an admission round: each job's prompt once (whatever its `n`), resuming from cached prefixes.

Jobs with no cached prefix are prefilled together (batch.prefill). A job whose prompt starts with a cached
prefix gets its own cache seeded with that prefix's KV and runs only the rest of its prompt. Every job's
prompt KV then goes to the prefix cache, and the job's row of the batched cache is copied once per choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mlx.core as mx
from mlx import nn
from mlx_lm.models.cache import KVCache, make_prompt_cache

from services.inference.engine.batch import PREFILL_STEP, prefill
from services.inference.engine.multi_lora import MultiLoRAModel, plan_for
from services.inference.engine.prefix_cache import BASE_KEY, LayerKV, PrefixCache, PrefixHit
from services.inference.engine.row import Row


@dataclass(frozen=True)
class Prefilled:
    """The admitted rows in cache order, their batched cache, and the prompt tokens the model ran."""

    rows: list[Row]
    cache: list[Any]
    computed_tokens: int


def model_key(row: Row) -> int:
    """The prefix cache's key for the weights a row runs on: its adapter's uid, or the base's."""
    return BASE_KEY if row.adapter is None else row.adapter.uid


def cacheable(model: nn.Module) -> bool:
    """Whether the model's cache is plain KV per layer (sliding-window or state caches cannot be reused by prefix)."""
    return all(type(layer) is KVCache for layer in make_prompt_cache(model))


def prefill_rows(
    lora: MultiLoRAModel, rows: Sequence[Row], prefixes: PrefixCache | None, step: int = PREFILL_STEP
) -> Prefilled:
    """Prefill the jobs of `rows` (all choices of each job, in order, index 0 first) once each; see the module."""
    leads = [row for row in rows if row.index == 0]
    choices = {id(lead.job): [row for row in rows if row.job is lead.job] for lead in leads}
    hits: list[PrefixHit | None] = [
        prefixes.lookup(model_key(lead), lead.job.prompt[:-1]) if prefixes is not None else None for lead in leads
    ]
    cold = [lead for lead, hit in zip(leads, hits, strict=True) if hit is None]
    warm = [(lead, hit) for lead, hit in zip(leads, hits, strict=True) if hit is not None]
    caches: list[list[Any]] = []
    computed = 0
    if cold:
        caches.append(prefill(lora, cold, step))
        computed += sum(len(lead.job.prompt) for lead in cold)
        if prefixes is not None:
            for i, lead in enumerate(cold):
                prefixes.store(model_key(lead), lead.job.prompt[:-1], _row_kv(caches[-1], i))
    for lead, hit in warm:
        cache, kv = _resume(lora, lead, hit, step)
        caches.append(cache)
        computed += len(lead.job.prompt) - hit.tokens
        if prefixes is not None:
            prefixes.store(model_key(lead), lead.job.prompt[:-1], kv)
    merged = caches[0]
    for other in caches[1:]:
        for mine, theirs in zip(merged, other, strict=True):
            mine.extend(theirs)
    ordered = cold + [lead for lead, _ in warm]
    copies = [k for k, lead in enumerate(ordered) for _ in choices[id(lead.job)]]
    if len(copies) > len(ordered):
        for layer in merged:
            layer.filter(copies)
        mx.eval([layer.state for layer in merged])
    return Prefilled([row for lead in ordered for row in choices[id(lead.job)]], merged, computed)


def _resume(lora: MultiLoRAModel, lead: Row, hit: PrefixHit, step: int) -> tuple[list[Any], LayerKV]:
    """Prefill the prompt after its cached prefix; returns the batched cache (one row) and the prompt's KV."""
    model = lora.model
    cache = make_prompt_cache(model)
    for layer, (keys, values) in zip(cache, hit.layers, strict=True):
        layer.state = (keys, values, hit.tokens)
    rest = lead.job.prompt[hit.tokens : -1]
    if rest:
        lora.route(plan_for([lead.routing_key]))
        inputs = mx.array([rest])
        for start in range(0, len(rest), step):
            model(inputs[:, start : start + step], cache=cache)
            mx.eval([layer.state for layer in cache])
    kv = [(layer.keys, layer.values) for layer in cache]
    return [layer.merge([layer]) for layer in cache], kv


def _row_kv(cache: list[Any], i: int) -> LayerKV:
    """Row i's prompt KV in a batched cache, its left padding cut off."""
    if not cache or cache[0].keys is None:
        return []
    padding = int(cache[0].left_padding[i].item())
    return [(layer.keys[i : i + 1, :, padding:], layer.values[i : i + 1, :, padding:]) for layer in cache]
