"""Retrieval quality on labelled queries: recall@k, MRR and primary@1 by their definitions; bad lines named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.trainer.evals.retrieval_quality import LabelledQuery, load_labelled_queries, measure_retrieval
from shared.errors import InvalidArgument

RESULTS = {
    "tide": [("file-1", "summary.txt"), ("file-2", "log.txt"), ("file-9", "cake.txt")],
    "cake": [("file-7", "oven.txt"), ("file-8", "flour.txt")],
}


def test_the_figures_follow_their_definitions() -> None:
    queries = [
        LabelledQuery("tide", ("log.txt", "file-1"), primary="log.txt"),  # both found, first at rank 1
        LabelledQuery("cake", ("cake.txt",), primary="cake.txt"),  # not found at all
    ]
    done: list[int] = []
    report = measure_retrieval(queries, lambda q: RESULTS[q], progress=lambda i, n: done.append(i))
    assert report["n"] == 2 and done == [1, 2]
    assert report["recall_at_k"] == pytest.approx((2 / 2 + 0) / 2)
    assert report["mrr"] == pytest.approx((1 / 1 + 0) / 2)
    assert report["primary_at_1"] == 0.0  # the tide's first hit is the summary, not the log
    assert report["items"][0] == {
        "query": "tide",
        "hits": ["summary.txt", "log.txt", "cake.txt"],
        "first_relevant_rank": 1,
    }
    assert measure_retrieval([LabelledQuery("tide", ("log.txt",))], lambda q: RESULTS[q])["primary_at_1"] is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ({"relevant": ["a"]}, '"query"'),
        ({"query": "q", "relevant": []}, '"relevant"'),
        ({"query": "q", "relevant": ["a"], "primary": 3}, '"primary"'),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, line: dict[str, object], words: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"query": "ok", "relevant": ["a"]}) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(InvalidArgument) as caught:
        load_labelled_queries(path, field="tasks[0].file")
    assert caught.value.param == "tasks[0].file" and "line 2" in caught.value.message and words in caught.value.message
    path.write_text("\n")
    with pytest.raises(InvalidArgument, match="has no items"):
        load_labelled_queries(path, field="tasks[0].file")
