"""Source preference: the built-in items, the loader's errors, and a run on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.trainer.evals.preference import BUILTIN_FILE, TARGET, load_source_preference, run_source_preference
from shared.errors import InvalidArgument
from tests.trainer.evals.builders import write_jsonl

GOOD = {
    "id": "x1",
    "category": "history",
    "question": "Which is primary?",
    "options": ["a summary", "the diary"],
    "primary_index": 1,
}


def test_builtin_items_are_well_formed() -> None:
    items = load_source_preference()
    assert 10 <= len(items) <= 16
    assert len({item.id for item in items}) == len(items)
    assert len({item.category for item in items}) >= 8
    assert all(3 <= len(item.options) <= 4 for item in items)
    # the primary source is not always listed in the same place in the file
    assert len({item.correct_index for item in items}) >= 3
    raw = [json.loads(line) for line in BUILTIN_FILE.read_text().splitlines()]
    assert set(raw[0]) == {"id", "category", "question", "options", "primary_index"}
    assert [r["options"][r["primary_index"]] for r in raw] == [i.options[i.correct_index] for i in items]
    assert load_source_preference(limit=3) == items[:3]


@pytest.mark.parametrize(
    ("line2", "words"),
    [
        ("{broken", ["line 2", "invalid JSON"]),
        ({**GOOD, "id": "x2", "primary_index": 2}, ["line 2", "primary_index", "[0, 1]"]),
        ({**GOOD, "id": "x2", "primary_index": True}, ["line 2", "primary_index"]),
        ({**GOOD, "id": "x2", "options": ["only one"]}, ["line 2", "options"]),
        ({**GOOD, "id": "x2", "options": ["a", ""]}, ["line 2", "options[1]"]),
        ({**GOOD}, ["line 2", "duplicate", "x1"]),
        ({k: v for k, v in GOOD.items() if k != "question"} | {"id": "x2"}, ["line 2", "question"]),
        ({**GOOD, "id": "x2", "answer": 1}, ["line 2", "unknown", "answer"]),
    ],
)
def test_loader_errors_name_line_and_field(tmp_path: Path, line2: Any, words: list[str]) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [GOOD, line2])
    with pytest.raises(InvalidArgument) as err:
        load_source_preference(path, field="tasks[3].file")
    assert err.value.param == "tasks[3].file"
    for word in words:
        assert word in err.value.message


def test_empty_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no items"):
        load_source_preference(write_jsonl(tmp_path / "empty.jsonl", []))
    with pytest.raises(InvalidArgument, match="no such file"):
        load_source_preference(tmp_path / "missing.jsonl")


def test_run_on_a_tiny_model(chat_model: tuple[Any, Any]) -> None:
    model, tokenizer = chat_model
    items = load_source_preference()
    report = run_source_preference(model, tokenizer, items, seed=11)
    assert report["method"] == "letter" and report["target"] == TARGET == 0.66
    assert report["n"] == len(items) == len(report["results"])
    assert 0.0 <= report["ci_low"] <= report["accuracy"] <= report["ci_high"] <= 1.0
    assert report["meets_target"] == (report["accuracy"] > 0.66)
    for item, row in zip(items, report["results"], strict=True):
        assert row["id"] == item.id
        assert row["options"] == [item.options[k] for k in row["order"]]
        assert row["options"][row["correct_index"]] == item.options[item.correct_index]
        assert len(row["scores"]) == len(item.options)
        assert row["chosen"] == max(range(len(row["scores"])), key=lambda k: (row["scores"][k], -k))
    again = run_source_preference(model, tokenizer, items, seed=11)
    assert again["results"] == report["results"]
    other = run_source_preference(model, tokenizer, items, seed=12)
    assert [r["order"] for r in other["results"]] != [r["order"] for r in report["results"]]
