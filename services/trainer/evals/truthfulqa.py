"""TruthfulQA MC1 from a local file in the Hugging Face `truthful_qa` `multiple_choice` format.

One JSON object per line (or one JSON list): {"question", "mc1_targets": {"choices", "labels"}, "mc2_targets"}
with exactly one label 1 in mc1. That data lists the correct answer first, so options are shuffled per question
with a seeded RNG before scoring: unshuffled, a model that always picks "A" scores 100 % (the reference's bug).
Only MC1 is scored; mc2_targets is checked for shape when present. The optional "id" and "category" keys (not in
the HF config) are used when given; otherwise the id is "tqa-<index>" (0-based, in file order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from services.trainer.evals.choice import LETTERS, MultipleChoiceItem, run_multiple_choice
from services.trainer.evals.datafiles import (
    DATA_DIR,
    ItemError,
    load_items,
    optional_text,
    string_list,
    text_field,
)
from services.trainer.evals.likelihood import LanguageModel

SAMPLE_FILE = DATA_DIR / "truthfulqa_sample.jsonl"


def _targets(obj: dict[str, Any], key: str, *, single: bool) -> tuple[list[str], list[int]]:
    targets = obj.get(key)
    if not isinstance(targets, dict):
        raise ItemError(f'"{key}" must be an object with "choices" and "labels", got {targets!r:.60}')
    try:
        choices = string_list(targets, "choices", min_items=2)
    except ItemError as exc:
        raise ItemError(f"{key}: {exc}") from exc
    labels = targets.get("labels")
    if (
        not isinstance(labels, list)
        or len(labels) != len(choices)
        or any(label not in (0, 1) or isinstance(label, bool) for label in labels)
    ):
        raise ItemError(
            f'"{key}.labels" must be a list of {len(choices)} zeros and ones (one per choice), got {labels!r:.60}'
        )
    if single and sum(labels) != 1:
        raise ItemError(f'"{key}.labels" must hold exactly one 1 (the single true answer), got {sum(labels)}')
    if not single and sum(labels) < 1:
        raise ItemError(f'"{key}.labels" must mark at least one true answer')
    return choices, labels


def parse_question(obj: dict[str, Any], index: int) -> MultipleChoiceItem:
    """One MC1 question from its JSON object; the id falls back to "tqa-<index>"."""
    question = text_field(obj, "question")
    if "mc1_targets" not in obj:
        raise ItemError('missing "mc1_targets"')
    choices, labels = _targets(obj, "mc1_targets", single=True)
    if len(choices) > len(LETTERS):
        raise ItemError(f'"mc1_targets.choices" has {len(choices)} entries; at most {len(LETTERS)} are allowed')
    if "mc2_targets" in obj:
        _targets(obj, "mc2_targets", single=False)
    raw_id = obj.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        item_id = str(raw_id)
    else:
        item_id = optional_text(obj, "id") or f"tqa-{index}"
    return MultipleChoiceItem(
        question=question,
        options=tuple(choices),
        correct_index=labels.index(1),
        id=item_id,
        category=optional_text(obj, "category"),
    )


def load_truthfulqa(
    path: Path | str | None = None, *, field: str = "file", limit: int | None = None
) -> list[MultipleChoiceItem]:
    """Questions of a TruthfulQA MC file (the bundled sample when `path` is None), every entry checked."""
    return load_items(
        path or SAMPLE_FILE, parse_question, lambda item: item.id, field=field, limit=limit, allow_list=True
    )


def run_truthfulqa(
    model: LanguageModel,
    tokenizer: Any,
    items: Sequence[MultipleChoiceItem],
    *,
    seed: int,
    method: str = "option",
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # open: a task's report, part of the evaluation report
    """MC1 accuracy with its Wilson interval and per-question results; options shuffled per question."""
    chosen = list(items[:limit] if limit is not None else items)
    return run_multiple_choice(model, tokenizer, chosen, seed=seed, method=method, progress=progress)
