"""Reports made comparable: plain JSON values, and the side-by-side table of several models' reports.

A report is open data (each task type has its own keys, per-item results included); `headline` picks the few
numbers of each type worth a row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.schemas.evaluation import EvalSummary, MetricValue


def json_safe(value: Any) -> Any:
    """Plain JSON types only: tuples to lists, paths to strings, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    return str(value)


def headline(report: Mapping[str, Any]) -> dict[str, MetricValue]:
    """The few numbers of a report worth a side-by-side row."""
    kind = report.get("type")
    if kind == "perplexity":
        bands = report.get("bands", {})
        return {
            **{f"ppl_{band}": bands.get(band, {}).get("perplexity") for band in ("low", "mid", "high")},
            "ppl_overall": report.get("overall", {}).get("perplexity"),
            "distrust_ratio": report.get("distrust_ratio"),
        }
    if kind in ("source_preference", "truthfulqa"):
        return {key: report.get(key) for key in ("accuracy", "ci_low", "ci_high", "n")}
    if kind == "suite":
        return {key: report.get(key) for key in ("pass_rate", "passed", "n", "suite_passed")}
    if kind == "generation":
        return {key: report.get(key) for key in ("n", "answers", "mean_answer_chars")}
    if kind == "retrieval_quality":
        return {key: report.get(key) for key in ("recall_at_k", "mrr", "primary_at_1", "n")}
    return {}


def compare(results_by_model: Mapping[str, Mapping[str, Any]]) -> EvalSummary:
    """Side by side: models, metrics (`{"<task>.<metric>": {model: value}}`) and each model's distrust ratio.

    The ratio is that of the model's first perplexity task; a model that lacks a task shows None.
    """
    models = list(results_by_model)
    metrics: dict[str, dict[str, MetricValue]] = {}
    ratios: dict[str, float | None] = dict.fromkeys(models)
    with_ratio: set[str] = set()
    for model, reports in results_by_model.items():
        for task_name, report in reports.items():
            if not isinstance(report, Mapping):
                continue
            for metric, value in headline(report).items():
                metrics.setdefault(f"{task_name}.{metric}", dict.fromkeys(models))[model] = value
            if report.get("type") == "perplexity" and model not in with_ratio:
                ratios[model] = report.get("distrust_ratio")
                with_ratio.add(model)
    return EvalSummary.model_validate(json_safe({"models": models, "metrics": metrics, "distrust_ratio": ratios}))
