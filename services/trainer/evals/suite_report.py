"""Running a suite: every prompt asked and judged, tallied per category against the suite's thresholds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from services.trainer.evals.judging import VerdictSummary, score_reply
from services.trainer.evals.suites import Suite


class SuiteResult(VerdictSummary):
    """One prompt's verdict with the prompt and the reply it judged."""

    prompt: str
    reply: str


class CategoryTally(TypedDict):
    """How the replies of one category did against its threshold (None when it has none)."""

    n: int
    passed: int
    pass_rate: float | None
    threshold: float | None
    met: bool | None


def _rate(passed: int, total: int) -> float | None:
    return passed / total if total else None


def run_suite(
    generate: Callable[[str], str],
    suite: Suite,
    *,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # open: a task's report, part of the evaluation report
    """Ask `generate` (user prompt → reply text) every prompt of the suite and judge the replies."""
    items = suite.items[:limit] if limit is not None else suite.items
    results: list[SuiteResult] = []
    for n, item in enumerate(items, start=1):
        reply = generate(item.prompt)
        results.append({**score_reply(item, reply).to_dict(), "prompt": item.prompt, "reply": reply})
        if progress is not None:
            progress(n, len(items))
    by_category: dict[str, CategoryTally] = {}
    for category in sorted({r["category"] for r in results}):
        rows = [r for r in results if r["category"] == category]
        passed = sum(r["passed"] for r in rows)
        threshold = suite.category_thresholds.get(category)
        rate = _rate(passed, len(rows))
        by_category[category] = {
            "n": len(rows),
            "passed": passed,
            "pass_rate": rate,
            "threshold": threshold,
            "met": None if threshold is None else rate is not None and rate >= threshold,
        }
    passed = sum(r["passed"] for r in results)
    pass_rate = _rate(passed, len(results))
    reasons: dict[str, int] = {}
    for row in results:
        for reason in row["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    suite_passed = (
        pass_rate is not None
        and pass_rate >= suite.pass_threshold
        and all(c["met"] is not False for c in by_category.values())
    )
    return {
        "suite": suite.name,
        "description": suite.description,
        "n": len(results),
        "passed": passed,
        "pass_rate": pass_rate,
        "pass_threshold": suite.pass_threshold,
        "category_thresholds": dict(suite.category_thresholds),
        "suite_passed": suite_passed,
        "by_category": by_category,
        "reasons": reasons,
        "results": results,
    }
