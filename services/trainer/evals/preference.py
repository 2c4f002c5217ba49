"""Source preference (spec §4): whether the model picks the primary source over summaries of it.

Each item is a question with 3 or 4 candidate sources; exactly one is primary (a lab notebook, the patent as
filed, an eyewitness letter, raw measurements) and the others are secondary or tertiary (a press release, a
textbook summary, an agency statement). Options are shuffled per item with a seeded RNG and the answer is read
by log-likelihood (`choice.py`). Target from the seed documents: accuracy above 66 %.

File format (JSONL, one item per line): {"id", "category", "question", "options": [...], "primary_index"}.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from services.trainer.evals.choice import LETTERS, MultipleChoiceItem, run_multiple_choice
from services.trainer.evals.datafiles import (
    DATA_DIR,
    ItemError,
    check_keys,
    int_field,
    load_items,
    string_list,
    text_field,
)
from services.trainer.evals.likelihood import LanguageModel

BUILTIN_FILE = DATA_DIR / "source_preference.jsonl"
TARGET = 0.66
KEYS = {"id", "category", "question", "options", "primary_index"}


def parse_item(obj: dict[str, Any]) -> MultipleChoiceItem:
    """One source-preference item from its JSON object; ItemError naming the first bad key."""
    check_keys(obj, KEYS, "item")
    item_id = text_field(obj, "id")
    category = text_field(obj, "category")
    question = text_field(obj, "question")
    options = string_list(obj, "options", min_items=2)
    if len(options) > len(LETTERS):
        raise ItemError(f'"options" has {len(options)} entries; at most {len(LETTERS)} are allowed')
    primary = int_field(obj, "primary_index", 0, len(options) - 1)
    return MultipleChoiceItem(
        question=question, options=tuple(options), correct_index=primary, id=item_id, category=category
    )


def load_source_preference(
    path: Path | str | None = None, *, field: str = "file", limit: int | None = None
) -> list[MultipleChoiceItem]:
    """The items of a source-preference file (the built-in set when `path` is None), every line checked."""
    return load_items(
        path or BUILTIN_FILE, lambda obj, _index: parse_item(obj), lambda item: item.id, field=field, limit=limit
    )


def run_source_preference(
    model: LanguageModel,
    tokenizer: Any,
    items: Sequence[MultipleChoiceItem],
    *,
    seed: int,
    method: str = "letter",
    progress: Callable[[int, int], None] | None = None,
    system: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:  # open: a task's report, part of the evaluation report
    """Accuracy at choosing the primary source, its Wilson interval, the 0.66 target, and per-item results.

    Each item's result holds its options in the order shown, the original order, the chosen and correct index
    and every option's score. `system` gives a question its system text (retrieved context), if any.
    """
    return run_multiple_choice(
        model, tokenizer, items, seed=seed, method=method, target=TARGET, progress=progress, system=system
    )
