"""Multiple-choice questions answered by log-likelihood, with options shuffled by a seeded RNG.

The model is never asked to write its answer: the prompt lists the options under letters and ends in
"Answer:", and the option whose continuation is most likely wins. Method "letter" compares log P(" A"), log
P(" B"), … after the prompt; "option" compares the mean per-token log-probability of each option's own text
(length-normalised, so long options are not penalised for their length); "cyclic" compares each option's letter
log-probability averaged over the options' k cyclic rotations (every option shown once under every letter), which
cancels a model's preference for one letter — small models often have one, and fine-tuning moves it. The reference implementation read a
letter out of generated text by substring search ("b " matched any word ending in b) and never shuffled
TruthfulQA, whose correct answer is always listed first.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict, get_args

from services.trainer.evals.generation import has_chat_template, render_user_turn
from services.trainer.evals.likelihood import ContinuationScore, LanguageModel, continuation_logprobs
from shared.errors import invalid_field
from shared.schemas.evaluation import ChoiceMethod

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
METHODS: tuple[ChoiceMethod, ...] = get_args(ChoiceMethod)


@dataclass(frozen=True)
class MultipleChoiceItem:
    """One question with its options and the index of the right one; checked when built."""

    question: str
    options: tuple[str, ...]
    correct_index: int
    id: str
    category: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))
        if not isinstance(self.question, str) or not self.question.strip():
            raise invalid_field("question", self.question, "a non-empty string")
        if not 2 <= len(self.options) <= len(LETTERS):
            raise invalid_field("options", list(self.options), f"a list of 2 to {len(LETTERS)} options")
        for i, option in enumerate(self.options):
            if not isinstance(option, str) or not option.strip():
                raise invalid_field(f"options[{i}]", option, "a non-empty string")
        if (
            not isinstance(self.correct_index, int)
            or isinstance(self.correct_index, bool)
            or not 0 <= self.correct_index < len(self.options)
        ):
            raise invalid_field("correct_index", self.correct_index, f"an integer in [0, {len(self.options) - 1}]")


@dataclass(frozen=True)
class Shuffled:
    """`item` with its options in the order shown; order[k] = the original index of the option shown k-th."""

    item: MultipleChoiceItem
    order: tuple[int, ...]


@dataclass(frozen=True)
class Choice:
    """The option the model chose, and the scores and continuations the choice was made on."""

    chosen: int  # index in the options as shown
    scores: tuple[float, ...]  # what was compared: summed log-prob (letter) or mean log-prob (option)
    continuations: tuple[ContinuationScore, ...]


class AccuracyReport(TypedDict):
    """Accuracy over n items with its Wilson interval, and how it compares with a target (None without one)."""

    n: int
    correct: int
    accuracy: float | None
    ci_low: float
    ci_high: float
    z: float
    target: float | None
    meets_target: bool | None
    ci_above_target: bool | None


class ChoiceResult(TypedDict):
    """One item as it was shown, what the model chose, and every option's score."""

    id: str
    category: str | None
    question: str
    options: list[str]
    order: list[int]
    correct_index: int
    chosen: int
    chosen_letter: str
    correct: bool
    scores: list[float]


def item_rng(seed: int, item_id: str) -> random.Random:
    """An RNG that depends only on (seed, item id): an item's order does not change when others are added."""
    return random.Random(f"{seed}:{item_id}")


def shuffle_options(item: MultipleChoiceItem, rng: random.Random) -> Shuffled:
    """The item with its options in an order drawn from `rng`, the correct index following its option."""
    order = list(range(len(item.options)))
    rng.shuffle(order)
    shown = MultipleChoiceItem(
        question=item.question,
        options=tuple(item.options[i] for i in order),
        correct_index=order.index(item.correct_index),
        id=item.id,
        category=item.category,
    )
    return Shuffled(item=shown, order=tuple(order))


def render_prompt(
    item: MultipleChoiceItem, letters: str = LETTERS, *, tokenizer: Any = None, system: str | None = None
) -> str:
    r"""The prompt that lists the item's options under letters: 'Question: …\nA) …\nB) …\nAnswer:'.

    With a chat template the question and options are the user turn (after `system`, if any) and the
    assistant's reply starts with 'Answer:'; without one `system` comes first, then a blank line.
    """
    if len(letters) < len(item.options):
        raise invalid_field("letters", letters, f"at least {len(item.options)} letters")
    body = f"Question: {item.question.strip()}\n" + "\n".join(
        f"{letters[i]}) {option.strip()}" for i, option in enumerate(item.options)
    )
    if tokenizer is None or not has_chat_template(tokenizer):
        return f"{system}\n\n{body}\nAnswer:" if system else f"{body}\nAnswer:"
    # thinking off: score the answer, not the start of reasoning
    text, _ = render_user_turn(tokenizer, body, system=system, thinking=False)
    return f"{text}Answer:"


def choose(
    model: LanguageModel,
    tokenizer: Any,
    item: MultipleChoiceItem,
    method: str = "letter",
    letters: str = LETTERS,
    system: str | None = None,
) -> Choice:
    """The option the model finds most likely (the first one on a tie), with every option's score."""
    if method not in METHODS:
        raise invalid_field("method", method, f"one of {', '.join(map(repr, METHODS))}")
    if method == "cyclic":
        return _choose_cyclic(model, tokenizer, item, letters, system)
    if method == "letter":
        continuations = [f" {letters[i]}" for i in range(len(item.options))]
    else:
        continuations = [f" {option.strip()}" for option in item.options]
    scored = _scored(model, tokenizer, item, continuations, letters, system)
    scores = tuple(s.logprob if method == "letter" else s.mean for s in scored)
    return Choice(chosen=_best(scores), scores=scores, continuations=tuple(scored))


def _choose_cyclic(
    model: LanguageModel, tokenizer: Any, item: MultipleChoiceItem, letters: str, system: str | None
) -> Choice:
    """Each option's letter log-probability averaged over the k cyclic rotations of the options.

    Every option is shown once under every letter, so a preference for a letter adds the same to every option.
    """
    k = len(item.options)
    totals = [0.0] * k
    first: list[ContinuationScore] = []
    for r in range(k):
        rotated = replace(item, options=item.options[r:] + item.options[:r], correct_index=(item.correct_index - r) % k)
        scored = _scored(model, tokenizer, rotated, [f" {letters[i]}" for i in range(k)], letters, system)
        first = first or scored
        for shown, score in enumerate(scored):
            totals[(shown + r) % k] += score.logprob / k
    scores = tuple(totals)
    return Choice(chosen=_best(scores), scores=scores, continuations=tuple(first))


def _scored(
    model: LanguageModel,
    tokenizer: Any,
    item: MultipleChoiceItem,
    continuations: list[str],
    letters: str,
    system: str | None,
) -> list[ContinuationScore]:
    prompt = render_prompt(item, letters, tokenizer=tokenizer, system=system)
    special = False if has_chat_template(tokenizer) else None
    return continuation_logprobs(model, tokenizer, prompt, continuations, add_special_tokens=special)


def _best(scores: Sequence[float]) -> int:
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion correct / total; (0, 1) when total is 0."""
    if not isinstance(total, int) or total < 0:
        raise invalid_field("total", total, "an integer >= 0")
    if not isinstance(correct, int) or not 0 <= correct <= total:
        raise invalid_field("correct", correct, f"an integer in [0, {total}]")
    if not z > 0:
        raise invalid_field("z", z, "a number > 0")
    if total == 0:
        return 0.0, 1.0
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_report(correct: int, total: int, *, target: float | None = None, z: float = 1.96) -> AccuracyReport:
    """accuracy, its Wilson interval, n; with a target: whether the accuracy (and the whole interval) exceed it."""
    low, high = wilson_interval(correct, total, z)
    accuracy = correct / total if total else None
    return {
        "n": total,
        "correct": correct,
        "accuracy": accuracy,
        "ci_low": low,
        "ci_high": high,
        "z": z,
        "target": target,
        "meets_target": None if target is None or accuracy is None else accuracy > target,
        "ci_above_target": None if target is None or not total else low > target,
    }


def run_multiple_choice(
    model: LanguageModel,
    tokenizer: Any,
    items: Sequence[MultipleChoiceItem],
    *,
    seed: int,
    method: str,
    target: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    system: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:  # open: a task's report, part of the evaluation report
    """Shuffle each item's options (seeded per item), let the model choose, and report accuracy and per item.

    `system` gives an item's question its system text (retrieved context), if any.
    """
    if method not in METHODS:
        raise invalid_field("method", method, f"one of {', '.join(map(repr, METHODS))}")
    results: list[ChoiceResult] = []
    by_category: dict[str, list[int]] = {}
    for n, original in enumerate(items, start=1):
        shuffled = shuffle_options(original, item_rng(seed, original.id))
        shown = shuffled.item
        choice = choose(model, tokenizer, shown, method, system=system(shown.question) if system else None)
        right = choice.chosen == shown.correct_index
        results.append(
            {
                "id": shown.id,
                "category": shown.category,
                "question": shown.question,
                "options": list(shown.options),
                "order": list(shuffled.order),
                "correct_index": shown.correct_index,
                "chosen": choice.chosen,
                "chosen_letter": LETTERS[choice.chosen],
                "correct": right,
                "scores": list(choice.scores),
            }
        )
        tally = by_category.setdefault(shown.category or "uncategorised", [0, 0])
        tally[0] += int(right)
        tally[1] += 1
        if progress is not None:
            progress(n, len(items))
    correct = sum(int(r["correct"]) for r in results)
    chance = sum(1 / len(item.options) for item in items) / len(items) if items else None
    return {
        "method": method,
        "seed": seed,
        **accuracy_report(correct, len(results), target=target),
        "chance": chance,
        "by_category": {
            name: {"n": total, "correct": hits, "accuracy": hits / total}
            for name, (hits, total) in sorted(by_category.items())
        },
        "results": results,
    }
