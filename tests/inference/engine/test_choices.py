"""n > 1: choices share one prefill, each samples on its own stream (seed + index), and bad `n` is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.inference.engine import Delta, Done, Engine, GenerationRequest
from shared.errors import InvalidArgument

PROMPT = "The harbour master kept a ledger of every ship"


@pytest.fixture(scope="module")
def engine(base_model: Path, adapters: dict[str, Path]) -> Iterator[Engine]:
    with Engine(base_model, max_batch_size=4, max_n=6, max_n_tokens=2000) as eng:
        eng.load_adapter("a", adapters["a"])
        yield eng


def run(engine: Engine, **fields: object) -> list[tuple[str, Done]]:
    return engine.submit(GenerationRequest(prompt=PROMPT, **fields)).texts()  # type: ignore[arg-type]


def test_greedy_choices_are_the_single_run_and_the_prompt_is_prefilled_once(engine: Engine) -> None:
    single = run(engine, max_tokens=16, temperature=0)
    before = engine.stats()
    choices = run(engine, max_tokens=16, temperature=0, n=3)
    after = engine.stats()
    prompt_tokens = single[0][1].prompt_tokens
    assert [text for text, _ in choices] == [single[0][0]] * 3
    assert [done.index for _, done in choices] == [0, 1, 2]
    assert all(done.prompt_tokens == prompt_tokens and done.completion_tokens == 16 for _, done in choices)
    assert after.prefill_tokens - before.prefill_tokens == prompt_tokens
    assert after.generated_tokens - before.generated_tokens == 48


@pytest.mark.parametrize("adapter", [None, "a"])
def test_seeded_choice_i_equals_that_seed_plus_i_alone(engine: Engine, adapter: str | None) -> None:
    fields = {"max_tokens": 20, "temperature": 0.9, "top_p": 0.95, "adapter": adapter}
    choices = run(engine, n=4, seed=41, **fields)
    alone = [run(engine, seed=41 + i, **fields)[0][0] for i in range(4)]
    assert [text for text, _ in choices] == alone
    assert len(set(alone)) == 4  # distinct streams, not one stream copied
    assert run(engine, n=4, seed=41, **fields) == choices


def test_more_choices_than_batch_slots_still_run(engine: Engine) -> None:
    choices = run(engine, max_tokens=8, temperature=0.7, seed=3, n=6)
    assert [done.index for _, done in choices] == list(range(6))
    assert [text for text, _ in choices] == [
        run(engine, max_tokens=8, temperature=0.7, seed=3 + i)[0][0] for i in range(6)
    ]


def test_stream_items_carry_their_choice_and_cancel_ends_every_choice(engine: Engine) -> None:
    handle = engine.submit(GenerationRequest(prompt=PROMPT, max_tokens=1000, temperature=0.8, n=2))
    seen: set[int] = set()
    ends: list[Done] = []
    for item in handle:
        if isinstance(item, Delta):
            seen.add(item.index)
            if seen == {0, 1}:
                handle.cancel()
        else:
            ends.append(item)
    assert sorted(done.index for done in ends) == [0, 1]
    assert {done.finish_reason for done in ends} == {"cancelled"}
    assert engine.active_requests() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"n": 0}, "n: got 0"),
        ({"n": 7}, "expected an integer in [1, 6]"),
        ({"n": True}, "n: got True"),
        ({"n": 5, "max_tokens": 500}, "over this server's cap of 2000"),
    ],
)
def test_bad_n_names_the_field(engine: Engine, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("[", r"\[")) as caught:
        engine.submit(GenerationRequest(prompt=PROMPT, **fields))  # type: ignore[arg-type]
    assert caught.value.param == "n"


def test_n_times_max_tokens_must_fit_in_the_context(base_model: Path) -> None:
    with Engine(base_model, max_batch_size=2) as eng:
        limit = eng.context_length
        eng.submit(GenerationRequest(prompt=PROMPT, max_tokens=limit // 2, n=1)).cancel()
        with pytest.raises(InvalidArgument, match="context length") as caught:
            eng.submit(GenerationRequest(prompt=PROMPT, max_tokens=limit // 2, n=2))
        assert caught.value.param == "n"
