"""TruthfulQA MC1: the loader (JSONL and JSON list), the bundled sample, and shuffling that defeats "always A"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.trainer.evals.choice import render_prompt
from services.trainer.evals.likelihood import encode
from services.trainer.evals.truthfulqa import SAMPLE_FILE, load_truthfulqa, run_truthfulqa
from shared.errors import InvalidArgument
from tests.trainer.evals.builders import BiasedModel, write_jsonl

Q = {
    "question": "Is it so?",
    "mc1_targets": {"choices": ["No.", "Yes.", "Maybe."], "labels": [1, 0, 0]},
    "mc2_targets": {"choices": ["No.", "Not really.", "Yes."], "labels": [1, 1, 0]},
}


def test_sample_is_in_the_hf_layout() -> None:
    items = load_truthfulqa()
    assert 8 <= len(items) <= 15
    assert all(item.correct_index == 0 for item in items)  # as in the HF data: the true answer comes first
    assert [item.id for item in items[:2]] == ["tqa-0", "tqa-1"]
    first = json.loads(SAMPLE_FILE.read_text().splitlines()[0])
    assert set(first) == {"question", "mc1_targets", "mc2_targets"}
    assert len(load_truthfulqa(limit=4)) == 4


def test_json_list_and_optional_fields(tmp_path: Path) -> None:
    path = tmp_path / "tqa.json"
    path.write_text(json.dumps([Q, {**Q, "id": 7, "category": "Health"}, {**Q, "id": "named"}]))
    items = load_truthfulqa(path)
    assert [i.id for i in items] == ["tqa-0", "7", "named"]
    assert items[1].category == "Health" and items[0].category is None


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({**Q, "mc1_targets": {"choices": ["a", "b"], "labels": [1, 1]}}, ["line 2", "exactly one 1"]),
        ({**Q, "mc1_targets": {"choices": ["a", "b"], "labels": [1]}}, ["line 2", "mc1_targets.labels"]),
        ({**Q, "mc1_targets": {"choices": ["a"], "labels": [1]}}, ["line 2", "mc1_targets", "choices"]),
        ({"question": "Q?"}, ["line 2", "mc1_targets"]),
        ({**Q, "question": ""}, ["line 2", "question"]),
        ({**Q, "mc2_targets": {"choices": ["a", "b"], "labels": [0, 0]}}, ["line 2", "mc2_targets"]),
        ("[1, 2]", ["line 2", "JSON object"]),
    ],
)
def test_loader_errors(tmp_path: Path, bad: Any, words: list[str]) -> None:
    path = write_jsonl(tmp_path / "tqa.jsonl", [Q, bad])
    with pytest.raises(InvalidArgument) as err:
        load_truthfulqa(path, field="tasks[0].file")
    assert err.value.param == "tasks[0].file"
    for word in words:
        assert word in err.value.message


def test_json_list_errors_name_the_item(tmp_path: Path) -> None:
    path = tmp_path / "tqa.json"
    path.write_text(json.dumps([Q, {**Q, "mc1_targets": {"choices": ["a", "b"], "labels": [0, 0]}}]))
    with pytest.raises(InvalidArgument, match="item 1"):
        load_truthfulqa(path)


def test_always_a_does_not_score_everything(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    items = load_truthfulqa()
    prompt = render_prompt(items[0])
    a_token = encode(tokenizer, prompt + " A", add_special_tokens=False)[-1]
    always_a = BiasedModel(model, [a_token], 30.0)
    report = run_truthfulqa(always_a, tokenizer, items, seed=0, method="letter")
    assert all(r["chosen"] == 0 for r in report["results"])
    # unshuffled, "A" is always right (the reference's bug); shuffled, it is right only where the answer landed
    assert report["accuracy"] == pytest.approx(sum(r["correct_index"] == 0 for r in report["results"]) / len(items))
    assert report["accuracy"] < 0.8


def test_run_with_limit_and_option_method(chat_model: tuple[Any, Any]) -> None:
    model, tokenizer = chat_model
    calls: list[tuple[int, int]] = []
    report = run_truthfulqa(
        model, tokenizer, load_truthfulqa(), seed=3, limit=3, progress=lambda i, n: calls.append((i, n))
    )
    assert report["method"] == "option" and report["n"] == 3 and len(report["results"]) == 3
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert report["target"] is None and report["meets_target"] is None
