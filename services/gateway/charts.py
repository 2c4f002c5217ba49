"""PNG charts of training and evaluation results.

Drawn with matplotlib's object API (`matplotlib.figure.Figure` with the Agg canvas, never `pyplot`), so there is
no global figure state. Matplotlib still shares some caches between figures (its mathtext parser, for one, fails
when two threads use it at once), so rendering is serialised by a module lock: charts can be requested from any
thread. Every chart is 800 x 480 pixels and the PNG carries no version or date metadata, so the same input gives
the same bytes.

Missing or non-finite values (a band without tokens, an overflowing perplexity, an interval not computed) are
left out of the drawing and marked "n/a" rather than drawn as 0.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from shared.errors import FailedPrecondition

SIZE = (8.0, 4.8)  # inches at 100 dpi: 800 x 480 pixels
DPI = 100
BANDS = ("low", "mid", "high")
_PNG_METADATA = {"Software": None}  # no matplotlib version in the file: same input, same bytes
_RENDER_LOCK = threading.Lock()  # matplotlib's shared caches are not thread-safe (see the module docstring)


def _figure() -> tuple[Figure, Any]:
    figure = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(figure)  # the Agg canvas explicitly, whatever the process-wide backend is
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata=_PNG_METADATA)
    return buffer.getvalue()


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (None, NaN, inf, a string, a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _not_available(axes: Any, x: float, fontsize: str) -> None:
    """Write "n/a" in grey at the foot of the missing bar at `x`."""
    axes.annotate(
        "n/a",
        (x, 0),
        xycoords=("data", "axes fraction"),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        fontsize=fontsize,
        color="grey",
    )


# ------------------------------------------------------------------------------------------------- loss
def _loss_chart(events: Sequence[Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Training loss, CE and validation loss against the step, from a job's `metrics` events.

    `events` are the job's events (`{"type": "metrics", "data": {"step", "train_loss", "ce", "val_loss", ...}}`,
    see `services.trainer.jobs.runner`); events of other types, and events without a `type` but with a step,
    are ignored and accepted respectively. `title` (e.g. the job id) goes in the chart's title. Raises
    FailedPrecondition (code "no_metrics") when there is no metrics event yet.
    """
    points: dict[int, Mapping[str, Any]] = {}
    for event in events:
        data = event.get("data") or {}
        if event.get("type", "metrics") == "metrics" and _number(data.get("step")) is not None:
            points[int(data["step"])] = data  # a step reported twice (resumed job): the last report wins
    if not points:
        raise FailedPrecondition(
            "The job has no training metrics yet; its loss chart appears after its first step", code="no_metrics"
        )
    steps = sorted(points)
    figure, axes = _figure()
    marker = "." if len(steps) <= 30 else None  # a single point is otherwise invisible

    def series(key: str) -> tuple[list[int], list[float]]:
        pairs = [(s, v) for s in steps if (v := _number(points[s].get(key))) is not None]
        return [s for s, _ in pairs], [v for _, v in pairs]

    train, ce, val = series("train_loss"), series("ce"), series("val_loss")
    if train[0]:
        axes.plot(*train, marker=marker, label="training loss (optimised)", color="tab:blue")
    if ce[0] and ce != train:  # in mode "none" they are the same numbers: one line is enough
        axes.plot(*ce, marker=marker, label="token cross-entropy", color="tab:orange", alpha=0.8)
    if val[0]:
        axes.plot(*val, marker="o", label="validation loss", color="tab:green")
    axes.set_xlabel("step")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if steps[-1] - steps[0] < 2:  # one or two steps: a range whole-number ticks fit in
        axes.set_xlim(steps[0] - 1, steps[-1] + 1)
    axes.set_ylabel("loss (nats per token)")
    axes.set_title(f"Loss — {title}" if title else "Loss")
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    else:
        axes.text(0.5, 0.5, "no loss values reported", ha="center", va="center", transform=axes.transAxes)
    return _png(figure)


# ------------------------------------------------------------------------------------------------- perplexity
def _band_perplexity(report: Mapping[str, Any], band: str) -> float | None:
    value = ((report.get("bands") or {}).get(band) or {}).get("perplexity")
    number = _number(value)
    return number if number is not None and number > 0 else None


def _name(model: str, width: int = 44) -> str:
    """A model name short enough for a legend: long fine-tuned names keep their start and end."""
    return model if len(model) <= width else f"{model[: width // 2 - 1]}…{model[-(width // 2 - 1) :]}"


def _short(value: float) -> str:
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def _perplexity_chart(results: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Grouped bars: perplexity per authority band (x) for each model, the distrust ratio in the legend.

    One colour per model, the value on each bar; the legend's ratio is ppl_high / ppl_low.

    `results`: `{model: {"bands": {"low": {"perplexity": float, ...}, "mid": {...}, "high": {...}},
    "distrust_ratio": float | None}}`. Bands no model has are left out; a band one model lacks is marked n/a.
    The scale is logarithmic when the values span more than a factor of 20 (a base model next to a trained
    one). Raises FailedPrecondition (code "no_results") when `results` is empty.
    """
    if not results:
        raise FailedPrecondition("No perplexity results to draw", code="no_results")
    bands = [b for b in BANDS if any(_band_perplexity(r, b) is not None for r in results.values())] or list(BANDS)
    values = {m: [_band_perplexity(r, b) for b in bands] for m, r in results.items()}
    drawn = [v for row in values.values() for v in row if v is not None]
    log = bool(drawn) and max(drawn) / min(drawn) > 20
    figure, axes = _figure()
    width = 0.8 / len(results)
    for i, (model, report) in enumerate(results.items()):
        positions = [x + (i - (len(results) - 1) / 2) * width for x in range(len(bands))]
        ratio = _number(report.get("distrust_ratio"))
        label = f"{_name(model)} (ratio {ratio:.3g})" if ratio is not None else f"{_name(model)} (ratio n/a)"
        heights = [v if v is not None else math.nan for v in values[model]]
        bars = axes.bar(positions, heights, width=width, label=label)
        axes.bar_label(
            bars, labels=[_short(v) if v is not None else "" for v in values[model]], fontsize="x-small", padding=2
        )
        for x, v in zip(positions, values[model], strict=True):
            if v is None:
                _not_available(axes, x, "x-small")
    if log:
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
    if drawn:  # room above the tallest bar for its label and the legend
        axes.set_ylim(top=max(drawn) * ((4.0 * 3 ** len(results)) if log else 1.25 + 0.1 * len(results)))
    axes.set_xticks(range(len(bands)), [f"{b} authority" for b in bands])
    axes.set_ylabel("perplexity" + (" (log scale)" if log else ""))
    axes.set_title(title or "Perplexity by authority band (distrust ratio = ppl high / ppl low)")
    axes.legend(fontsize="small", loc="upper right")
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


# ------------------------------------------------------------------------------------------------- accuracy
def _accuracy_label(model: str, report: Mapping[str, Any]) -> str:
    """The tick label under a bar: the model, then on a second line its accuracy and n ("72.0 % (n=50)")."""
    value = _number(report.get("accuracy"))
    n = report.get("n")
    shown = f"{value * 100:.1f} %" if value is not None else "n/a"
    return f"{model}\n{shown}" + (f" (n={n})" if n is not None else "")


def _accuracy_chart(results: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Accuracy per model as bars, with the confidence interval as error bars; the value and n under each bar.

    `results`: `{model: {"accuracy": float, "interval": [low, high], "n": int}}`; an interval that is missing
    (or has a None end) draws no error bar on that side. Raises FailedPrecondition (code "no_results") when
    `results` is empty.
    """
    if not results:
        raise FailedPrecondition("No accuracy results to draw", code="no_results")
    names = list(results)
    figure, axes = _figure()
    for x, model in enumerate(names):
        report = results[model]
        value = _number(report.get("accuracy"))
        if value is None:
            _not_available(axes, x, "small")
            continue
        interval = list(report.get("interval") or [])[:2] + [None, None]
        low, high = _number(interval[0]), _number(interval[1])
        below = max(value - low, 0.0) if low is not None else 0.0  # an interval may not contain the value
        above = max(high - value, 0.0) if high is not None else 0.0
        axes.bar([x], [value], color="tab:blue", alpha=0.8, width=0.6)
        if low is not None or high is not None:
            axes.errorbar([x], [value], yerr=[[below], [above]], fmt="none", ecolor="black", capsize=6)
    axes.set_xticks(range(len(names)), [_accuracy_label(m, results[m]) for m in names], fontsize="small")
    axes.set_xlim(-0.6, len(names) - 0.4)
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy")
    axes.set_title(title or "Accuracy with 95 % interval")
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


# ------------------------------------------------------------------------------------------------- public API
def loss_chart(events: Sequence[Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """PNG: a job's training loss, CE and validation loss against the step (see `_loss_chart`).

    FailedPrecondition "no_metrics" when there is no metrics event yet.
    """
    with _RENDER_LOCK:
        return _loss_chart(events, title=title)


def perplexity_chart(results: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """PNG: perplexity per authority band per model, distrust ratios in the legend (see `_perplexity_chart`).

    FailedPrecondition "no_results" when `results` is empty.
    """
    with _RENDER_LOCK:
        return _perplexity_chart(results, title=title)


def accuracy_chart(results: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """PNG: accuracy per model with confidence-interval error bars (see `_accuracy_chart`).

    FailedPrecondition "no_results" when `results` is empty.
    """
    with _RENDER_LOCK:
        return _accuracy_chart(results, title=title)
