"""PNG charts of training and evaluation results (matplotlib's object API: no global state, thread-safe)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from shared.errors import FailedPrecondition

SIZE = (8.0, 4.8)  # inches at 100 dpi: 800 x 480 pixels
DPI = 100
BANDS = ("low", "mid", "high")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def loss_chart(events: Sequence[Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Training loss, CE and validation loss against the step, from a job's `metrics` events."""
    points = [e["data"] for e in events if e.get("type", "metrics") == "metrics" and "step" in (e.get("data") or {})]
    if not points:
        raise FailedPrecondition("The job has no training metrics yet; its loss chart appears after its first step",
                                 code="no_metrics")
    points.sort(key=lambda d: d["step"])
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    steps = [d["step"] for d in points]
    axes.plot(steps, [d.get("train_loss") for d in points], label="training loss (optimised)")
    if any(d.get("ce") is not None for d in points):
        axes.plot(steps, [d.get("ce") for d in points], label="token cross-entropy", alpha=0.7)
    val = [(d["step"], d["val_loss"]) for d in points if d.get("val_loss") is not None]
    if val:
        axes.plot(*zip(*val, strict=True), marker="o", label="validation loss")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(f"Loss — {title}" if title else "Loss")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return _png(figure)


def perplexity_chart(results: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Grouped bars: perplexity per authority band for each model, the distrust ratio in the legend."""
    if not results:
        raise FailedPrecondition("No perplexity results to draw", code="no_results")
    def ppl(report: Mapping[str, Any], band: str) -> float | None:
        return ((report.get("bands") or {}).get(band) or {}).get("perplexity")

    bands = [b for b in BANDS if any(ppl(r, b) for r in results.values())] or list(BANDS)
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    width = 0.8 / len(results)
    drawn: list[float] = []
    for i, (model, report) in enumerate(results.items()):
        values = [ppl(report, b) or 0.0 for b in bands]
        drawn += [v for v in values if v > 0]
        ratio = report.get("distrust_ratio")
        label = f"{model} (ratio {ratio:.3f})" if isinstance(ratio, int | float) else model
        positions = [x + (i - (len(results) - 1) / 2) * width for x in range(len(bands))]
        axes.bar(positions, values, width=width, label=label)
    if drawn and max(drawn) / min(drawn) > 20:  # a trained and an untrained model differ by orders of magnitude
        axes.set_yscale("log")
    axes.set_xticks(range(len(bands)), [f"{b} authority" for b in bands])
    axes.set_ylabel("perplexity")
    axes.set_title(title or "Perplexity by authority band (distrust ratio = high / low)")
    axes.legend(fontsize="small")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def accuracy_chart(results: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Accuracy per model with its confidence interval as error bars."""
    if not results:
        raise FailedPrecondition("No accuracy results to draw", code="no_results")
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    names = list(results)
    values = [float(results[m].get("accuracy") or 0.0) for m in names]
    lows, highs = [], []
    for model, value in zip(names, values, strict=True):
        low, high = (results[model].get("interval") or [None, None])[:2]
        lows.append(value - low if low is not None else 0.0)
        highs.append(high - value if high is not None else 0.0)
    axes.bar(range(len(names)), values, yerr=[lows, highs], capsize=6, color="tab:blue", alpha=0.8)
    axes.set_xticks(range(len(names)), [f"{m}\n(n={results[m].get('n')})" for m in names], fontsize="small")
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy")
    axes.set_title(title or "Accuracy with 95 % interval")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return _png(figure)
