"""Log-probabilities of a prompt's own tokens (`echo` with `logprobs`), as log-likelihood evaluations need.

One forward pass over the whole prompt gives, at each position, the distribution of the next token; token i is
scored under position i - 1, so the first token has no log-probability (None, as OpenAI reports it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import mlx.core as mx

from services.inference.engine.api import TokenLogprob
from services.inference.engine.multi_lora import MultiLoRAModel, plan_for


def prompt_logprobs(
    lora: MultiLoRAModel,
    ids: list[int],
    adapter: tuple[int, float] | None,
    top: int,
    token_text: Callable[[int], str],
) -> list[TokenLogprob]:
    """The entry of every prompt token; on the scheduler thread (the only one running the model)."""
    lora.route(plan_for([adapter]))
    logits = lora.model(mx.array([ids]))[0, :-1].astype(mx.float32)
    logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    targets = mx.array(ids[1:], dtype=mx.int32)[:, None]
    chosen = mx.take_along_axis(logprobs, targets, axis=-1)[:, 0]
    best = mx.argsort(-logprobs, axis=-1)[:, :top] if top else None
    best_values = None if best is None else mx.take_along_axis(logprobs, best, axis=-1)
    mx.eval(chosen, *(a for a in (best, best_values) if a is not None))
    values = cast(list[float], chosen.tolist())
    best_ids = [] if best is None else cast(list[list[int]], best.tolist())
    best_lps = [] if best_values is None else cast(list[list[float]], best_values.tolist())
    entries = [TokenLogprob(ids[0], token_text(ids[0]), None)]
    for i, token in enumerate(ids[1:]):
        alternatives = (
            tuple((t, token_text(t), v) for t, v in zip(best_ids[i], best_lps[i], strict=True)) if top else ()
        )
        entries.append(TokenLogprob(token, token_text(token), values[i], alternatives))
    return entries
