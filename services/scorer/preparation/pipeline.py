"""`prepare_dataset`: the reference's `prepare_data_curated`, done right, as a pure function.

Stages, in this order (each emits at least one `ProgressEvent`, even when disabled):

1. reading: stream every input; parse, extract the content, resolve the source type; bad lines are
   rejected with file, line and reason (strict mode: the first one raises `InvalidArgument`).
2. deduplicating: exact and whitespace-normalised duplicates removed, first occurrence kept. Done before
   scoring so that no scoring time is spent on records that are then dropped.
3. scoring: the injected scorer (hybrid when the source type is known); a scorer `InvalidArgument` about a
   record rejects that record like a malformed line.
4. rebalancing: every low-authority record kept, mid / high sampled down to the targets (seeded).
5. splitting: seeded shuffle, then train / validation (train never empty).
6. done.

One `random.Random(seed)` drives both the rebalancing samples and the shuffle, so the same inputs and options
always give the same train / val lists, and another seed gives another order.

The progress callback is called synchronously; an exception it raises (e.g. `Cancelled`) aborts the run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import FailedPrecondition, invalid_field
from shared.schemas.preparation_report import RejectedLine

from .dedup import content_keys, deduplicate
from .extract import MalformedLine, excerpt
from .labelling import Labelled, ScoreFn, default_scorer, label
from .options import PrepareOptions
from .reading import Candidate, RawInput, read_inputs, validate_inputs
from .rebalance import RebalancePlan, rebalance
from .rejections import RejectionLog
from .report import RunFigures, build_report
from .split import shuffle_and_split

STAGES: tuple[str, ...] = ("reading", "deduplicating", "scoring", "rebalancing", "splitting", "done")
#: A "scoring" progress event is emitted every this many records (and at the start and the end).
SCORE_PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class ProgressEvent:
    """Where a run is; stages come in the order of STAGES.

    `done` / `total` count lines (reading, total None: streamed) or records (other stages).
    """

    stage: str
    done: int
    total: int | None
    message: str


@dataclass
class PreparedDataset:
    """Output records (see `labelling` for the format) and the JSON-ready report (see `report`)."""

    train: list[dict[str, Any]]  # open: output records, the users' fields kept as they were
    val: list[dict[str, Any]]
    report: dict[str, Any]  # a PreparationReport's JSON, as stored and served


class _Progress:
    def __init__(self, callback: Callable[[ProgressEvent], None] | None) -> None:
        self._callback = callback

    def __call__(self, stage: str, done: int, total: int | None, message: str) -> None:
        if self._callback is not None:
            self._callback(ProgressEvent(stage, done, total, message))


def _deduplicate(candidates: list[Candidate], enabled: bool) -> tuple[list[Candidate], dict[str, int], list[int]]:
    """(kept, {"exact", "whitespace"}, input index of each removed candidate)."""
    if not enabled:
        return candidates, {"exact": 0, "whitespace": 0}, []
    result = deduplicate(candidates, lambda c: content_keys(c.content.kind, c.content.fields))
    removed_inputs = [candidate.input_index for candidate, _kind in result.removed]
    return result.kept, {"exact": result.exact, "whitespace": result.whitespace}, removed_inputs


def _score_all(
    candidates: list[Candidate],
    inputs: Sequence[RawInput],
    score: ScoreFn,
    rejections: RejectionLog,
    progress: _Progress,
) -> tuple[list[Labelled], list[int]]:
    """(labelled records, input index of each record the scorer rejected)."""
    total = len(candidates)
    progress("scoring", 0, total, f"scoring {total} records")
    labelled: list[Labelled] = []
    failed_inputs: list[int] = []
    for done, candidate in enumerate(candidates, start=1):
        name = inputs[candidate.input_index].name
        try:
            labelled.append(
                label(
                    input_index=candidate.input_index,
                    where=f"{name} line {candidate.line}",
                    content=candidate.content,
                    source_type=candidate.source_type,
                    record=candidate.record,
                    provided=candidate.provided,
                    score=score,
                )
            )
        except MalformedLine as bad:
            failed_inputs.append(candidate.input_index)
            rejections.add(
                RejectedLine(
                    file=name,
                    input_index=candidate.input_index,
                    line=candidate.line,
                    code=bad.code,
                    reason=bad.reason,
                    excerpt=excerpt(candidate.content.text),
                )
            )
        candidate.record = {}  # the raw record is no longer needed
        if done % SCORE_PROGRESS_EVERY == 0 and done != total:
            progress("scoring", done, total, f"scored {done} of {total} records")
    progress(
        "scoring",
        total,
        total,
        f"scored {len(labelled)} records, {len(failed_inputs)} rejected by the scorer",
    )
    return labelled, failed_inputs


def prepare_dataset(
    inputs: Sequence[RawInput],
    options: PrepareOptions,
    *,
    progress: Callable[[ProgressEvent], None] | None = None,
    score: ScoreFn | None = None,
) -> PreparedDataset:
    """Read, deduplicate, score, rebalance, shuffle and split the inputs.

    `score(text, metadata)` defaults to `services.scorer.scoring.score_document` with `options.profile`.
    Raises `InvalidArgument` for bad inputs / options (and, in strict mode, the first malformed line), and
    `FailedPrecondition` when no record is usable or rebalancing finds no low-authority record.
    """
    if not isinstance(options, PrepareOptions):
        raise invalid_field("options", options, "a PrepareOptions")
    validate_inputs(inputs)
    emit = _Progress(progress)
    score_fn = score if score is not None else default_scorer(options.profile)
    rejections = RejectionLog(strict=options.strict)

    candidates, summaries = read_inputs(
        inputs, options, rejections, lambda done, message: emit("reading", done, None, message)
    )

    emit("deduplicating", 0, len(candidates), "deduplicating" if options.dedup else "dedup disabled")
    read_count = len(candidates)
    candidates, duplicates, removed_inputs = _deduplicate(candidates, options.dedup)
    for index in removed_inputs:
        summaries[index].duplicates_removed += 1
    emit("deduplicating", read_count, read_count, f"removed {len(removed_inputs)} duplicates")
    truncated = sum(1 for c in candidates if c.content.truncated)

    scored, failed_inputs = _score_all(candidates, inputs, score_fn, rejections, emit)
    del candidates
    for index in failed_inputs:
        summaries[index].accepted -= 1
        summaries[index].rejected += 1
    if not scored:
        lines = sum(s.lines for s in summaries)
        raise FailedPrecondition(
            f"no usable records: {lines} lines read, {rejections.total} rejected "
            f"({dict(rejections.by_code)}), {len(removed_inputs)} duplicates removed"
        )

    rng = random.Random(options.seed)
    plan: RebalancePlan | None = None
    emit("rebalancing", 0, len(scored), "rebalancing" if options.rebalance else "rebalancing disabled")
    final: list[Labelled] = scored
    if options.rebalance:
        final, plan = rebalance(scored, lambda item: item.band, options.targets, rng)
    emit("rebalancing", len(final), len(scored), f"kept {len(final)} of {len(scored)} records")

    emit("splitting", 0, len(final), f"shuffling with seed {options.seed} and splitting")
    train, val, split_warnings = shuffle_and_split(final, options.val_fraction, rng)
    emit("splitting", len(final), len(final), f"{len(train)} train, {len(val)} validation")

    for item in final:
        summaries[item.input_index].final += 1
    for item in train:
        summaries[item.input_index].train += 1
    for item in val:
        summaries[item.input_index].val += 1
    figures = RunFigures(
        summaries=summaries,
        rejections=rejections,
        duplicates=duplicates,
        truncated=truncated,
        scored=scored,
        final=final,
        plan=plan,
        n_train=len(train),
        n_val=len(val),
        split_warnings=split_warnings,
    )
    report = build_report(options, figures).model_dump(mode="json")
    emit("done", len(final), len(final), f"{len(train)} train and {len(val)} validation records")
    return PreparedDataset([item.record for item in train], [item.record for item in val], report)
