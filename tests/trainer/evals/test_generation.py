"""Greedy replies: the chat template when there is one, the plain layout otherwise."""

from __future__ import annotations

from typing import Any

import mlx_lm
import pytest
from mlx_lm.sample_utils import make_sampler

from services.trainer.evals.generation import generate_reply, prompt_ids, render_user_turn
from services.trainer.evals.likelihood import encode
from shared.errors import InvalidArgument


def test_chat_template_is_applied(chat_model: tuple[Any, Any]) -> None:
    model, tokenizer = chat_model
    text, templated = render_user_turn(tokenizer, "Which source?", system="Be brief.")
    assert templated and "<|user|>" in text and "Be brief." in text and text.endswith("<|assistant|>\n")
    ids = prompt_ids(tokenizer, "Which source?")
    assert ids.count(tokenizer.bos_token_id) == 1  # the template's BOS, not a second one
    reply = generate_reply(model, tokenizer, "Which source?", max_tokens=6)
    expected = mlx_lm.generate(model, tokenizer, ids, max_tokens=6, sampler=make_sampler(temp=0.0))
    assert reply == expected
    assert generate_reply(model, tokenizer, "Which source?", max_tokens=6) == reply  # greedy: deterministic


def test_plain_fallback(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    text, templated = render_user_turn(tokenizer, "Which source?", system="Be brief.")
    assert not templated and text == "Be brief.\n\nUser: Which source?\nAssistant:"
    assert prompt_ids(tokenizer, "Which source?") == encode(
        tokenizer, "User: Which source?\nAssistant:", add_special_tokens=True
    )
    reply = generate_reply(model, tokenizer, "Which source?", max_tokens=5)
    assert isinstance(reply, str)
    assert len(encode(tokenizer, reply, add_special_tokens=False)) <= 5 + 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_tokens_is_checked(plain_model: tuple[Any, Any], bad: Any) -> None:
    model, tokenizer = plain_model
    with pytest.raises(InvalidArgument) as err:
        generate_reply(model, tokenizer, "Hi", max_tokens=bad)
    assert err.value.param == "max_tokens"
