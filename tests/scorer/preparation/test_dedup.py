"""Exact and whitespace-normalised duplicate removal, counted in the report."""

from __future__ import annotations

import json

from services.scorer.preparation import PrepareOptions, RawInput, prepare_dataset
from services.scorer.preparation.dedup import content_keys, deduplicate, normalise_whitespace

OPTIONS = PrepareOptions(rebalance=False, val_fraction=0.0)


def _line(text: str, **fields: object) -> str:
    return json.dumps({"text": text, **fields})


def test_normalise_whitespace() -> None:
    assert normalise_whitespace("  a \t b\n\nc  ") == "a b c"


def test_exact_and_whitespace_duplicates_are_removed_and_counted(fake_score, text_of) -> None:
    a, b = text_of("LOWTAG", 1), text_of("LOWTAG", 2)
    spaced = a.replace(" ", "  \n", 3)
    lines = [
        _line(a, id=1),
        _line(b),
        _line(a, id=2),  # exact duplicate of line 1 (other fields do not matter)
        _line(spaced),  # same as line 1 once whitespace is normalised
        _line(a.upper()),  # case differs: not a duplicate
        _line("   " + a + "  "),  # stripped at extraction: exact duplicate
    ]
    result = prepare_dataset([RawInput("x.jsonl", lines)], OPTIONS, score=fake_score)
    texts = [r["text"] for r in result.train]
    assert sorted(texts) == sorted([a, b, a.upper()])
    kept_a = next(r for r in result.train if r["text"] == a)
    assert kept_a["metadata"] == {"id": 1}  # the first occurrence wins
    assert result.report["duplicates_removed"] == {"exact": 2, "whitespace": 1, "total": 3}
    assert result.report["inputs"][0]["duplicates_removed"] == 3
    assert len(fake_score.calls) == 3  # duplicates are never scored


def test_duplicates_across_inputs_keep_the_first_input(fake_score, text_of) -> None:
    text = text_of("MIDTAG", 1)
    inputs = [
        RawInput("wiki.jsonl", [_line(text)]),
        RawInput("arxiv.jsonl", [_line(text), _line(text_of("x", 2))]),
    ]
    result = prepare_dataset(inputs, OPTIONS, score=fake_score)
    assert {r["source_type"] for r in result.train} == {"wiki", "preprint"}
    assert next(r for r in result.train if r["text"] == text)["source_type"] == "wiki"
    assert [i["duplicates_removed"] for i in result.report["inputs"]] == [0, 1]
    assert [i["final"] for i in result.report["inputs"]] == [1, 1]


def test_dedup_can_be_disabled(fake_score, text_of) -> None:
    text = text_of("MIDTAG", 1)
    result = prepare_dataset(
        [RawInput("x.jsonl", [_line(text)] * 3)],
        PrepareOptions(dedup=False, rebalance=False, val_fraction=0.0),
        score=fake_score,
    )
    assert len(result.train) == 3
    assert result.report["duplicates_removed"] == {"exact": 0, "whitespace": 0, "total": 0}


def test_dedup_compares_the_cut_text(fake_score, text_of) -> None:
    base = text_of("LOWTAG", 1, length=300)
    lines = [_line(base + " tail one"), _line(base + " tail two")]
    options = PrepareOptions(max_chars=300, rebalance=False, val_fraction=0.0)
    result = prepare_dataset([RawInput("x.jsonl", lines)], options, score=fake_score)
    assert [r["text"] for r in result.train] == [base]
    assert result.report["truncated_texts"] == 1


def test_structured_records() -> None:
    chat = {"messages": [{"role": "user", "content": "hi  there"}, {"role": "assistant", "content": "yes"}]}
    chat_spaced = {"messages": [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": " yes\n"}]}
    chat_other_role = {"messages": [{"role": "system", "content": "hi there"}, {"role": "assistant", "content": "yes"}]}
    as_text = {"text": "hi there yes"}
    items = [("messages", chat), ("messages", chat_spaced), ("messages", chat_other_role), ("text", as_text)]
    result = deduplicate(items, lambda item: content_keys(item[0], item[1]))
    assert result.kept == [items[0], items[2], items[3]]
    assert result.removed == [(items[1], "whitespace")]
    pc = {"prompt": "a b", "completion": "c"}
    assert content_keys("prompt_completion", pc) != content_keys(
        "prompt_completion", {"prompt": "a", "completion": "b c"}
    )
