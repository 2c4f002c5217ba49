r"""Greedy replies to one user prompt, rendered the way the model was tuned to read it.

With a chat template the prompt is a user turn (after an optional system turn) plus the generation prompt; a
model without one gets the plain "User: …\nAssistant:" layout. Raw prompts without a template gave empty
replies in the reference implementation, which its scoring then counted as "not refused" (spec reference §5.1).
"""

from __future__ import annotations

from typing import Any, cast

import mlx.core as mx
import mlx.nn as nn
from mlx_lm import generate
from mlx_lm.sample_utils import make_sampler

from services.trainer.evals.likelihood import LanguageModel, encode, hf_tokenizer, wants_special_tokens
from shared.errors import invalid_field


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer (or the Hugging Face one inside it) carries a chat template."""
    return bool(
        getattr(tokenizer, "has_chat_template", False) or getattr(hf_tokenizer(tokenizer), "chat_template", None)
    )


def render_user_turn(
    tokenizer: Any, user: str, *, system: str | None = None, thinking: bool | None = None
) -> tuple[str, bool]:
    """(prompt text, whether it came from the chat template). Templated text carries its own special tokens.

    `thinking` False asks a reasoning model's template for a direct answer (`enable_thinking=False`; other
    templates ignore it); None leaves the template's default.
    """
    if not has_chat_template(tokenizer):
        head = f"{system}\n\n" if system else ""
        return f"{head}User: {user}\nAssistant:", False
    extra = {} if thinking is None else {"enable_thinking": thinking}
    messages = [{"role": "user", "content": user}]
    if system:
        messages.insert(0, {"role": "system", "content": system})
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)
    except Exception:
        if not system:
            raise
        merged = [{"role": "user", "content": f"{system}\n\n{user}"}]
        text = tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True, **extra)
    return str(text), True


def prompt_ids(tokenizer: Any, user: str, *, system: str | None = None) -> list[int]:
    """The token ids of `user` rendered as a user turn, BOS added only where the template does not."""
    text, templated = render_user_turn(tokenizer, user, system=system)
    special = False if templated else wants_special_tokens(tokenizer, text)
    return encode(tokenizer, text, add_special_tokens=special)


def generate_reply(
    model: LanguageModel, tokenizer: Any, prompt: str, *, max_tokens: int, system: str | None = None
) -> str:
    """The model's greedy reply (temperature 0) to `prompt` as a user message, at most `max_tokens` tokens."""
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise invalid_field("max_tokens", max_tokens, "an integer >= 1")
    ids = prompt_ids(tokenizer, prompt, system=system)
    # Every LanguageModel the evaluations load is an mlx-lm Module; the protocol only names what they call.
    return generate(cast(nn.Module, model), tokenizer, ids, max_tokens=max_tokens, sampler=make_sampler(temp=0.0))


def sample_replies(
    model: LanguageModel,
    tokenizer: Any,
    prompt: str,
    *,
    n: int,
    max_tokens: int,
    temperature: float,
    seed: int,
    system: str | None = None,
) -> list[str]:
    """`n` replies to `prompt` as a user message; reply i is sampled with seed `seed + i` (the same for every model)."""
    ids = prompt_ids(tokenizer, prompt, system=system)
    replies = []
    for i in range(n):
        mx.random.seed(seed + i)
        sampler = make_sampler(temp=temperature)
        replies.append(generate(cast(nn.Module, model), tokenizer, ids, max_tokens=max_tokens, sampler=sampler))
    return replies
