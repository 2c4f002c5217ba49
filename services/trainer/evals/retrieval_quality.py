"""Retrieval quality on a labelled query file: recall@k, MRR and primary@1 of a search, with each query's hits.

A line is `{"query": str, "relevant": [file names or ids], "primary": file name or id (optional)}`. recall@k is
the share of a query's relevant files among its k results, MRR the mean of 1 / rank of its first relevant result
(0 when none is found), primary@1 the share of queries whose first result is their `primary` (over the queries that
name one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.trainer.evals.datafiles import fail, read_objects

Hit = tuple[str, str]  # (file id, file name) of a result, best first


@dataclass(frozen=True)
class LabelledQuery:
    """A query and the files that answer it."""

    query: str
    relevant: tuple[str, ...]
    primary: str | None = None


def load_labelled_queries(path: Path, *, field: str, limit: int | None = None) -> list[LabelledQuery]:
    """The file's queries; InvalidArgument naming `field` and the first bad line."""
    queries = []
    for where, record in read_objects(path, field=field):
        query, relevant, primary = record.get("query"), record.get("relevant"), record.get("primary")
        if not isinstance(query, str) or not query.strip():
            raise fail(field, where, 'expected a non-empty "query" string')
        if not isinstance(relevant, list) or not relevant or not all(isinstance(r, str) for r in relevant):
            raise fail(field, where, '"relevant": a non-empty list of file names or ids')
        if primary is not None and not isinstance(primary, str):
            raise fail(field, where, '"primary": a file name or id')
        queries.append(LabelledQuery(query, tuple(relevant), primary))
    return queries[:limit] if limit else queries


def _is(hit: Hit, names: Sequence[str]) -> bool:
    return hit[0] in names or hit[1] in names


def measure_retrieval(
    queries: Sequence[LabelledQuery],
    search: Callable[[str], list[Hit]],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # open: the task's report
    """recall@k, MRR and primary@1 over the queries, each query's hits kept."""
    items = []
    recall = mrr = primary = 0.0
    with_primary = 0
    for n, labelled in enumerate(queries, start=1):
        hits = search(labelled.query)
        found = sum(1 for name in labelled.relevant if any(_is(h, [name]) for h in hits))
        rank = next((i + 1 for i, h in enumerate(hits) if _is(h, labelled.relevant)), None)
        recall += found / len(labelled.relevant)
        mrr += 1.0 / rank if rank else 0.0
        if labelled.primary is not None:
            with_primary += 1
            primary += float(bool(hits) and _is(hits[0], [labelled.primary]))
        items.append({"query": labelled.query, "hits": [h[1] for h in hits], "first_relevant_rank": rank})
        if progress is not None:
            progress(n, len(queries))
    count = len(queries)
    return {
        "n": count,
        "recall_at_k": recall / count,
        "mrr": mrr / count,
        "primary_at_1": primary / with_primary if with_primary else None,
        "items": items,
    }
