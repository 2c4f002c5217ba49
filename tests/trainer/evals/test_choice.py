"""Multiple choice: seeded shuffling, prompt rendering, choosing by log-likelihood, Wilson intervals."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from services.trainer.evals.choice import (
    MultipleChoiceItem,
    accuracy_report,
    choose,
    item_rng,
    render_prompt,
    run_multiple_choice,
    shuffle_options,
    wilson_interval,
)
from services.trainer.evals.likelihood import encode
from shared.errors import InvalidArgument
from tests.trainer.evals.builders import BiasedModel

ITEM = MultipleChoiceItem(
    question="Which source is primary?",
    options=("A press release", "The lab notebook", "A textbook", "An agency statement"),
    correct_index=1,
    id="q1",
    category="science",
)


def test_item_validation_names_the_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        MultipleChoiceItem(question="Q?", options=("a", "b"), correct_index=2, id="x")
    assert err.value.param == "correct_index"
    with pytest.raises(InvalidArgument) as err:
        MultipleChoiceItem(question="Q?", options=("a",), correct_index=0, id="x")
    assert err.value.param == "options"
    with pytest.raises(InvalidArgument) as err:
        MultipleChoiceItem(question="Q?", options=("a", " "), correct_index=0, id="x")
    assert err.value.param == "options[1]"


def test_shuffle_is_deterministic_per_seed_and_item() -> None:
    first = shuffle_options(ITEM, item_rng(7, ITEM.id))
    again = shuffle_options(ITEM, item_rng(7, ITEM.id))
    assert first == again
    assert sorted(first.order) == [0, 1, 2, 3]
    assert first.item.options == tuple(ITEM.options[i] for i in first.order)
    assert first.item.options[first.item.correct_index] == "The lab notebook"
    orders = {shuffle_options(ITEM, item_rng(seed, ITEM.id)).order for seed in range(30)}
    assert len(orders) > 5  # different seeds give different orders
    positions = {shuffle_options(ITEM, item_rng(seed, ITEM.id)).item.correct_index for seed in range(30)}
    assert positions == {0, 1, 2, 3}
    other = MultipleChoiceItem(question=ITEM.question, options=ITEM.options, correct_index=1, id="q2")
    assert [shuffle_options(other, item_rng(s, other.id)).order for s in range(5)] != [
        shuffle_options(ITEM, item_rng(s, ITEM.id)).order for s in range(5)
    ]
    # the same rng object, drawn twice, moves on
    rng = random.Random(3)
    assert len({shuffle_options(ITEM, rng).order for _ in range(10)}) > 1


def test_render_prompt_plain_and_chat(chat_model: tuple[Any, Any]) -> None:
    _, tokenizer = chat_model
    assert render_prompt(ITEM) == (
        "Question: Which source is primary?\nA) A press release\nB) The lab notebook\n"
        "C) A textbook\nD) An agency statement\nAnswer:"
    )
    assert render_prompt(ITEM, "WXYZ").splitlines()[1] == "W) A press release"
    chat = render_prompt(ITEM, tokenizer=tokenizer)
    assert chat.startswith(tokenizer.bos_token) and "<|user|>" in chat
    assert "B) The lab notebook" in chat and chat.endswith("<|assistant|>\nAnswer:")
    grounded = render_prompt(ITEM, tokenizer=tokenizer, system="[1] notebook.txt: the gauge read 2.1 m")
    assert grounded.index("<|system|>\n[1] notebook.txt") < grounded.index("<|user|>") and grounded.endswith("Answer:")
    assert render_prompt(ITEM, system="Context.").startswith("Context.\n\nQuestion: Which source")
    with pytest.raises(InvalidArgument):
        render_prompt(ITEM, "AB")


def _last_token(tokenizer: Any, prompt: str, continuation: str) -> int:
    return encode(tokenizer, prompt + continuation, add_special_tokens=False)[-1]


def _new_tokens(tokenizer: Any, prompt: str, continuation: str) -> list[int]:
    """The tokens of prompt + continuation after those it shares with the prompt alone."""
    before = encode(tokenizer, prompt, add_special_tokens=False)
    after = encode(tokenizer, prompt + continuation, add_special_tokens=False)
    n = 0
    while n < len(before) and before[n] == after[n]:
        n += 1
    return after[n:]


@pytest.mark.parametrize("fixture", ["chat_model", "plain_model"])
def test_letter_choice_follows_the_model(fixture: str, request: pytest.FixtureRequest) -> None:
    model, tokenizer = request.getfixturevalue(fixture)
    prompt = render_prompt(ITEM, tokenizer=tokenizer)
    for target in range(4):
        # favour every token of the target letter (" B" may be two tokens, " " and "B")
        biased = BiasedModel(model, _new_tokens(tokenizer, prompt, " " + "ABCD"[target]), 30.0)
        choice = choose(biased, tokenizer, ITEM, "letter")
        assert choice.chosen == target
        assert max(choice.scores) == choice.scores[target]
        assert len(choice.continuations) == 4


def test_cyclic_choice_averages_the_rotations_and_cancels_a_letter_preference(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    plain = choose(model, tokenizer, ITEM, "cyclic")
    rotations = [
        choose(model, tokenizer, replace(ITEM, options=ITEM.options[r:] + ITEM.options[:r], correct_index=0), "letter")
        for r in range(4)
    ]
    by_hand = [sum(rotations[r].scores[(i - r) % 4] for r in range(4)) / 4 for i in range(4)]
    assert np.allclose(plain.scores, by_hand, atol=1e-5)
    a_token = _last_token(tokenizer, render_prompt(ITEM), " A")
    says_a = BiasedModel(model, [a_token], 30.0)
    assert choose(says_a, tokenizer, ITEM, "letter").chosen == 0  # the letter readout follows the preference
    biased = choose(says_a, tokenizer, ITEM, "cyclic")
    shift = np.array(biased.scores) - np.array(plain.scores)
    assert np.ptp(shift) < 0.01 < np.ptp(plain.scores)  # (nearly) the same for every option: the order is kept
    assert biased.chosen == plain.chosen


def test_option_choice_is_length_normalised(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    item = MultipleChoiceItem(
        question="Which?", options=("data data data data data data", "letter"), correct_index=0, id="len"
    )
    data_token = encode(tokenizer, " data", add_special_tokens=False)[-1]
    biased = BiasedModel(model, [data_token], 30.0)
    choice = choose(biased, tokenizer, item, "option")
    assert choice.chosen == 0
    summed = [c.logprob for c in choice.continuations]
    assert choice.scores == tuple(c.mean for c in choice.continuations)
    assert choice.scores[0] > choice.scores[1]
    assert summed[0] / choice.continuations[0].tokens == pytest.approx(choice.scores[0])
    with pytest.raises(InvalidArgument) as err:
        choose(model, tokenizer, item, "substring")
    assert err.value.param == "method"


def test_wilson_interval_hand_values() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(50, 100, z=2.576)
    assert low == pytest.approx(0.3753, abs=1e-4) and high == pytest.approx(0.6247, abs=1e-4)
    for bad in ((11, 10), (-1, 10)):
        with pytest.raises(InvalidArgument):
            wilson_interval(*bad)
    with pytest.raises(InvalidArgument):
        wilson_interval(1, 2, z=0)


def test_accuracy_report() -> None:
    report = accuracy_report(9, 12, target=0.66)
    assert report["accuracy"] == 0.75 and report["n"] == 12 and report["correct"] == 9
    assert report["meets_target"] is True and report["ci_above_target"] is False
    assert report["ci_low"] < 0.75 < report["ci_high"]
    assert accuracy_report(0, 0)["accuracy"] is None
    assert accuracy_report(3, 4)["meets_target"] is None


def test_run_multiple_choice_with_a_model_that_always_says_a(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    items = [
        MultipleChoiceItem(
            question=f"Question {i}?",
            options=("one", "two", "three"),
            correct_index=0,
            id=f"i{i}",
            category="cat" if i % 2 else None,
        )
        for i in range(12)
    ]
    a_token = _last_token(tokenizer, render_prompt(items[0]), " A")
    biased = BiasedModel(model, [a_token], 30.0)
    seen: list[tuple[int, int]] = []
    report = run_multiple_choice(
        biased, tokenizer, items, seed=5, method="letter", progress=lambda i, n: seen.append((i, n))
    )
    assert seen[-1] == (12, 12) and len(seen) == 12
    assert all(r["chosen"] == 0 and r["chosen_letter"] == "A" for r in report["results"])
    expected = sum(r["correct_index"] == 0 for r in report["results"])
    assert report["correct"] == expected < 12  # shuffling moved the (originally first) answer
    assert report["accuracy"] == pytest.approx(expected / 12)
    assert report["chance"] == pytest.approx(1 / 3)
    assert set(report["by_category"]) == {"cat", "uncategorised"}
    for row in report["results"]:
        assert row["options"] == [items[0].options[k] for k in row["order"]]
        assert row["correct"] == (row["chosen"] == row["correct_index"])
        assert row["options"][row["correct_index"]] == "one"
    assert run_multiple_choice(biased, tokenizer, items, seed=5, method="letter")["results"] == report["results"]


def test_reasoning_templates_are_asked_for_a_direct_answer(chat_model: tuple[Any, Any]) -> None:
    import copy

    _, tokenizer = chat_model
    hf = copy.deepcopy(tokenizer._tokenizer)
    hf.chat_template = (
        "{% for m in messages %}[{{ m['content'] }}]{% endfor %}{% if add_generation_prompt %}"
        "<reply>{% if enable_thinking is defined and not enable_thinking %}<think></think>"
        "{% endif %}{% endif %}"
    )
    assert render_prompt(ITEM, tokenizer=hf).endswith("<reply><think></think>Answer:")
