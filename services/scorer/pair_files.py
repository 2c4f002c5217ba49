"""Pair-building jobs over stored files: candidates (or a batch's output, or annotations) in, DPO pairs out.

The pairs are shuffled with the job's seed and split by its `val_fraction` into train / validation files of purpose
`fine-tune`, ready for a DPO job, with a report of what was made and dropped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from services.scorer.preference_pairs import (
    PairReport,
    batch_candidates,
    manual_pairs,
    provenance_pairs,
    read_candidates,
    rules_pairs,
)
from services.scorer.preparation import PreparedDataset, ProgressEvent
from services.scorer.prepare_files import PrepareOutcome, store_outputs
from shared.errors import InvalidArgument, NotFound, invalid_field
from shared.files import FileService, Purpose
from shared.files.models import FileObject
from shared.schemas.preference_pairs import PairOptions
from shared.schemas.preparation import PreparationInput, PreparationOptions
from shared.storage import Bucket

# a CSV of annotations goes up with purpose "assistants" (any file, no line checks)
PAIR_INPUT_PURPOSES = (Purpose.RAW, Purpose.FINE_TUNE, Purpose.BATCH_OUTPUT, Purpose.ASSISTANTS)
FIELD = "inputs[0].file_id"


def _owned(files: FileService, owner: str, file_id: str, field: str, purposes: Sequence[Purpose]) -> FileObject:
    try:
        record = files.get(owner=owner, file_id=file_id)
    except NotFound:
        raise NotFound(f"{field}: no such File object: {file_id}", param=field, code="file_not_found") from None
    if record.purpose not in purposes:
        allowed = " or ".join(p.value for p in purposes)
        raise invalid_field(field, file_id, f"a file of purpose {allowed} (this one is {record.purpose.value})")
    return record


def check_pair_inputs(
    files: FileService, owner: str, inputs: Sequence[PreparationInput], pairs: PairOptions
) -> tuple[FileObject, FileObject | None]:
    """The one input file (and a batch's requests file) of a pair-building job, the owner's, of the right purpose."""
    if len(inputs) != 1:
        raise invalid_field("inputs", f"{len(inputs)} files", "exactly one file of candidates or annotations")
    source = _owned(files, owner, inputs[0].file_id, FIELD, PAIR_INPUT_PURPOSES)
    requests = None
    if pairs.requests_file_id is not None:
        requests = _owned(files, owner, pairs.requests_file_id, "pairs.requests_file_id", (Purpose.BATCH,))
    return source, requests


def pairs_from(
    lines: Iterable[bytes], pairs: PairOptions, *, profile: str, requests: Iterable[bytes] | None = None
) -> tuple[list[dict[str, Any]], PairReport]:
    """Every pair the rule makes from candidate (or annotation, or batch output) lines, and the report."""
    if pairs.rule == "manual":
        return manual_pairs(b"\n".join(lines), field_name=FIELD)
    if requests is not None:
        items = batch_candidates(requests, lines, field_name=FIELD)
    else:
        items = read_candidates(lines, field_name=FIELD)
    if pairs.rules is not None:
        return rules_pairs(items, pairs.rules, min_margin=pairs.min_margin)
    return provenance_pairs(items, profile=profile, min_margin=pairs.min_margin)


def split_pairs(
    made: list[dict[str, Any]], report: PairReport, pairs: PairOptions, *, seed: int, val_fraction: float
) -> PreparedDataset:
    """The pairs shuffled with `seed` and split train / validation, with the report; InvalidArgument when none."""
    if not made:
        raise InvalidArgument(
            f"{FIELD}: no pair was made from {report.prompts} prompts ({report.ties} ties, "
            f"{report.below_margin} under min_margin {pairs.min_margin})",
            param=FIELD,
            code="no_pairs",
        )
    made = list(made)
    random.Random(seed).shuffle(made)
    n_val = min(len(made) - 1, max(1, round(len(made) * val_fraction))) if val_fraction else 0
    summary = {
        "rule": pairs.rule,
        "prompts": report.prompts,
        "pairs": report.pairs,
        "ties": report.ties,
        "below_margin": report.below_margin,
        "min_margin": pairs.min_margin,
        "margins": report.margin_quantiles(),
        "train": len(made) - n_val,
        "validation": n_val,
    }
    return PreparedDataset(made[n_val:], made[:n_val], summary)


def build_stored_pairs(
    files: FileService,
    *,
    owner: str,
    inputs: Sequence[PreparationInput],
    options: PreparationOptions,
    pairs: PairOptions,
    progress: Callable[[ProgressEvent], None],
    on_stored: Callable[[str, FileObject], None],
) -> PrepareOutcome:
    """Build the pairs, split them train / validation with the seed, store both and the report."""
    source, requests = check_pair_inputs(files, owner, inputs, pairs)
    progress(ProgressEvent("reading", 0, None, f"building pairs by {pairs.rule}"))
    lines = files.store.iter_lines(Bucket.FILES, source.storage_key)
    request_lines = files.store.iter_lines(Bucket.FILES, requests.storage_key) if requests else None
    made, report = pairs_from(lines, pairs, profile=options.profile, requests=request_lines)
    dataset = split_pairs(made, report, pairs, seed=options.seed, val_fraction=options.val_fraction)
    progress(ProgressEvent("writing", 0, 3, "storing train.jsonl, val.jsonl and report.json"))
    return store_outputs(files, owner, dataset, on_stored)
