"""Penalties, logit_bias and min_p per row in the batched step; rows without them are untouched."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from services.inference.engine import Delta, Engine, GenerationRequest
from services.inference.engine.penalties import Adjustments
from shared.errors import InvalidArgument

PROMPT = "The letters in the archive"


def _tokens(engine: Engine, request: GenerationRequest) -> list[int]:
    """The generated token ids (read from their logprob entries)."""
    return [e.token for item in engine.submit(request) if isinstance(item, Delta) for e in item.logprobs]


def _greedy(**adjustments: object) -> GenerationRequest:
    return GenerationRequest(
        prompt=PROMPT,
        max_tokens=16,
        temperature=0.0,
        logprobs=0,
        adjustments=Adjustments(**adjustments),  # type: ignore[arg-type]
    )


def test_bias_bans_and_forces_tokens_and_leaves_other_rows_alone(engine: Engine) -> None:
    plain = _tokens(engine, _greedy())
    with ThreadPoolExecutor(3) as pool:
        banned, forced, neighbour = pool.map(
            lambda r: _tokens(engine, r),
            [_greedy(logit_bias={plain[0]: -100.0}), _greedy(logit_bias={42: 100.0}), _greedy()],
        )
    assert neighbour == plain
    assert plain[0] not in banned
    assert set(forced) == {42}


def test_frequency_penalty_reduces_repeats_and_min_p_one_is_greedy(engine: Engine) -> None:
    repeats = len(_tokens(engine, _greedy())) - len(set(_tokens(engine, _greedy())))
    penalised = _tokens(engine, _greedy(frequency_penalty=2.0, presence_penalty=2.0))
    assert len(penalised) - len(set(penalised)) < repeats
    sampled = GenerationRequest(
        prompt=PROMPT, max_tokens=16, temperature=1.0, seed=3, logprobs=0, adjustments=Adjustments(min_p=1.0)
    )
    assert _tokens(engine, sampled) == _tokens(engine, _greedy())


@pytest.mark.parametrize(
    ("adjustments", "param"),
    [
        ({"frequency_penalty": 2.5}, "frequency_penalty"),
        ({"presence_penalty": -3.0}, "presence_penalty"),
        ({"logit_bias": {10**9: 1.0}}, "logit_bias"),
        ({"logit_bias": {5: 101.0}}, "logit_bias.5"),
        ({"min_p": 1.5}, "min_p"),
    ],
)
def test_out_of_range_values_are_named(engine: Engine, adjustments: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(_greedy(**adjustments))
    assert caught.value.param == param
