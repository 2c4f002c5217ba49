"""The report of a preparation run (its layout: `shared.schemas.preparation_report.PreparationReport`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from shared.schemas.preparation_report import (
    BandCounts,
    BandStats,
    BandThresholds,
    CountsBeforeAfter,
    Duplicates,
    InputReport,
    LineCounts,
    PreparationReport,
    Rebalancing,
    ScoringCounts,
    Split,
    StatsBeforeAfter,
    ValueStats,
)

from .labelling import Labelled
from .options import PrepareOptions
from .rebalance import BANDS, HIGH_ABOVE, LOW_BELOW, RebalancePlan, band_counts
from .rejections import RejectionLog
from .sources import TRIVIUM_CATEGORIES, UNKNOWN_SOURCE_TYPE

#: The reference refuses fewer records than this; here it is only a warning.
REFERENCE_MINIMUM_RECORDS = 1000
#: The reference warns when the low-authority share is under this.
LOW_SHARE_WARNING = 0.20
UNCATEGORISED = "uncategorised"

K = TypeVar("K", bound=str)


@dataclass(frozen=True)
class RunFigures:
    """What a preparation run counted along the way, for its report."""

    summaries: Sequence[InputReport]
    rejections: RejectionLog
    duplicates: dict[str, int]
    truncated: int
    scored: Sequence[Labelled]
    final: Sequence[Labelled]
    plan: RebalancePlan | None
    n_train: int
    n_val: int
    split_warnings: Sequence[str]


def value_stats(values: Sequence[float]) -> ValueStats:
    """count, mean, population std, min and max, rounded to 6 decimals (None when there are no values)."""
    n = len(values)
    if n == 0:
        return ValueStats(count=0, mean=None, std=None, min=None, max=None)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / n
    return ValueStats(
        count=n,
        mean=round(mean, 6),
        std=round(math.sqrt(var), 6),
        min=round(min(values), 6),
        max=round(max(values), 6),
    )


def fractions(counts: Mapping[K, int]) -> dict[K, float]:
    """Each count's share of the total, rounded to 6 decimals (all 0.0 when the total is 0)."""
    total = sum(counts.values())
    return {key: (round(value / total, 6) if total else 0.0) for key, value in counts.items()}


def trivium_counts(items: Iterable[Labelled]) -> dict[str, int]:
    """Records per trivium category, with every category (and `uncategorised`) present."""
    counts: dict[str, int] = dict.fromkeys((*TRIVIUM_CATEGORIES, UNCATEGORISED), 0)
    for item in items:
        counts[item.record.get("trivium_category", UNCATEGORISED)] += 1
    return counts


def source_type_counts(items: Iterable[Labelled]) -> dict[str, int]:
    """Records per source type, sorted by type name."""
    counts = Counter(item.record.get("source_type", UNKNOWN_SOURCE_TYPE) for item in items)
    return dict(sorted(counts.items()))


def _stats_before_after(before: Sequence[Labelled], after: Sequence[Labelled], key: str) -> StatsBeforeAfter:
    return StatsBeforeAfter(
        before=value_stats([float(item.record[key]) for item in before]),
        after=value_stats([float(item.record[key]) for item in after]),
    )


def build_warnings(figures: RunFigures) -> list[str]:
    """Readable sentences about what in the run deserves a look: empty inputs, rejections, thin bands."""
    rejections, scored, final, plan = figures.rejections, figures.scored, figures.final, figures.plan
    warnings: list[str] = []
    for summary in figures.summaries:
        if summary.lines == 0:
            warnings.append(f"input {summary.name} has no lines")
        elif summary.accepted == 0:
            warnings.append(f"input {summary.name}: none of its {summary.lines} lines was usable")
    if rejections.total:
        warnings.append(f"{rejections.total} lines rejected; see rejected.lines (file, line and reason)")
    unknown = sum(1 for item in scored if item.record["source_type"] == UNKNOWN_SOURCE_TYPE)
    if unknown:
        warnings.append(
            f"{unknown} records have no source type (no explicit type, no filename match, no source_type "
            "field): scored dynamically, without a prior"
        )
    if plan is not None:
        for band, missing in plan.short.items():
            warnings.append(
                f"{band} band has {plan.available[band]} records, {missing} fewer than its target "
                f"{plan.targets[band]}: all kept, the other bands were not enlarged"
            )
    else:
        low_share = fractions(band_counts([item.band for item in final]))["low"]
        if low_share < LOW_SHARE_WARNING:
            warnings.append(f"low-authority share is {low_share:.1%}, under {LOW_SHARE_WARNING:.0%} (no rebalancing)")
    if len(final) < REFERENCE_MINIMUM_RECORDS:
        warnings.append(f"only {len(final)} records; the reference requires at least {REFERENCE_MINIMUM_RECORDS}")
    warnings.extend(figures.split_warnings)
    return warnings


def build_report(options: PrepareOptions, figures: RunFigures) -> PreparationReport:
    """The report of a run."""
    summaries, rejections, duplicates = figures.summaries, figures.rejections, figures.duplicates
    scored, final, plan = figures.scored, figures.final, figures.plan
    before_bands = band_counts([item.band for item in scored])
    after_bands = band_counts([item.band for item in final])
    methods = Counter(str(item.record.get("scoring_method")) for item in scored)
    return PreparationReport(
        seed=options.seed,
        options=options,
        inputs=list(summaries),
        lines=LineCounts(
            total=sum(s.lines for s in summaries),
            blank=sum(s.blank_lines for s in summaries),
            accepted=sum(s.accepted for s in summaries),
            rejected=rejections.total,
        ),
        rejected=rejections.report(),
        duplicates_removed=Duplicates(**duplicates, total=sum(duplicates.values())),
        truncated_texts=figures.truncated,
        scoring=ScoringCounts(profile=options.profile, scored=len(scored), by_method=dict(sorted(methods.items()))),
        bands=BandCounts(
            thresholds=BandThresholds(low_below=LOW_BELOW, high_above=HIGH_ABOVE),
            targets=dict(zip(BANDS, options.targets, strict=True)),
            before=before_bands,
            before_fraction=fractions(before_bands),
            after=after_bands,
            after_fraction=fractions(after_bands),
        ),
        rebalance=plan.report() if plan is not None else Rebalancing(applied=False),
        trivium=CountsBeforeAfter(before=trivium_counts(scored), after=trivium_counts(final)),
        source_types=CountsBeforeAfter(before=source_type_counts(scored), after=source_type_counts(final)),
        auth_weight=_stats_before_after(scored, final, "auth_weight"),
        prov_entropy=_stats_before_after(scored, final, "prov_entropy"),
        by_band={
            band: BandStats(
                count=after_bands[band],
                auth_weight=value_stats([i.auth_weight for i in final if i.band == band]),
                prov_entropy=value_stats([i.prov_entropy for i in final if i.band == band]),
            )
            for band in BANDS
        },
        split=Split(train=figures.n_train, val=figures.n_val, val_fraction=options.val_fraction, seed=options.seed),
        warnings=build_warnings(figures),
    )
