"""The report of a dataset preparation: what was read, rejected, scored, rebalanced and split, and why.

"before" is after dedup and scoring, i.e. what rebalancing sees; "after" is the final dataset (train + val).
The scorer builds it (`services.scorer.preparation.report`) and writes its JSON as `report.json`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer

from shared.schemas.preparation import PreparationOptions

Band = Literal["low", "mid", "high"]
#: Where an input's source type came from: given, derived from its file name, per record, or none.
SourceTypeOrigin = Literal["explicit", "filename", "record", "none"]


class InputReport(BaseModel):
    """One input's counts, kept up to date as the pipeline reads, deduplicates and splits its lines."""

    index: int
    name: str
    source_type: str | None
    source_type_origin: SourceTypeOrigin
    lines: int = 0
    blank_lines: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates_removed: int = 0
    final: int = 0
    train: int = 0
    val: int = 0


class LineCounts(BaseModel):
    """Lines over every input."""

    total: int
    blank: int
    accepted: int
    rejected: int


class RejectedLine(BaseModel):
    """One line that did not become a record."""

    file: str
    input_index: int
    line: int  # 1-based
    code: str  # invalid_utf8 | invalid_json | not_an_object | no_text | too_short | invalid_messages | …
    reason: str
    excerpt: str  # the line's first characters


class Rejections(BaseModel):
    """Rejected lines: all counted by reason, the first ones listed in full."""

    total: int
    by_reason: dict[str, int]
    listed: int
    truncated: bool
    lines: list[RejectedLine]


class Duplicates(BaseModel):
    """Duplicate contents dropped (the first occurrence is kept)."""

    exact: int
    whitespace: int
    total: int


class ScoringCounts(BaseModel):
    """How the kept records were scored."""

    profile: str
    scored: int
    by_method: dict[str, int]


class BandThresholds(BaseModel):
    """auth_weight below `low_below` is low authority, above `high_above` high."""

    low_below: float
    high_above: float


class BandCounts(BaseModel):
    """Records per authority band, before and after rebalancing, as counts and shares."""

    thresholds: BandThresholds
    targets: dict[Band, float]
    before: dict[Band, int]
    before_fraction: dict[Band, float]
    after: dict[Band, int]
    after_fraction: dict[Band, float]


class Rebalancing(BaseModel):
    """Whether the bands were rebalanced and, when they were, the plan (`short`: bands under their target)."""

    applied: bool
    target_total: int | None = None
    targets: dict[Band, int] | None = None
    available: dict[Band, int] | None = None
    kept: dict[Band, int] | None = None
    dropped: dict[Band, int] | None = None
    short: dict[Band, int] | None = None

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Not applied: `{"applied": false}` alone, as the report has always read.
        return {k: v for k, v in handler(self).items() if v is not None}


class CountsBeforeAfter(BaseModel):
    """Records per category before and after rebalancing."""

    before: dict[str, int]
    after: dict[str, int]


class ValueStats(BaseModel):
    """Summary statistics of one score over a set of records; all None but `count` when it is empty."""

    count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None


class StatsBeforeAfter(BaseModel):
    """One score's statistics before and after rebalancing."""

    before: ValueStats
    after: ValueStats


class BandStats(BaseModel):
    """One band of the final dataset: its size and its scores."""

    count: int
    auth_weight: ValueStats
    prov_entropy: ValueStats


class Split(BaseModel):
    """The train / validation split."""

    train: int
    val: int
    val_fraction: float
    seed: int


class PreparationReport(BaseModel):
    """The whole report of one preparation run."""

    seed: int
    options: PreparationOptions
    inputs: list[InputReport]
    lines: LineCounts
    rejected: Rejections
    duplicates_removed: Duplicates
    truncated_texts: int  # text records cut to max_chars
    scoring: ScoringCounts
    bands: BandCounts
    rebalance: Rebalancing
    trivium: CountsBeforeAfter  # grammar, logic, rhetoric, uncategorised
    source_types: CountsBeforeAfter
    auth_weight: StatsBeforeAfter
    prov_entropy: StatsBeforeAfter
    by_band: dict[Band, BandStats]  # of the final dataset
    split: Split
    warnings: list[str]  # readable sentences
