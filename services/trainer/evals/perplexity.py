"""Perplexity by authority band and the distrust ratio (spec §4) on a held-out set of training-format records.

Per band (low w < 0.3, mid 0.3 <= w <= 0.7, high w > 0.7, by each record's auth_weight) and overall:

    perplexity = exp(Σ token NLL / Σ loss tokens)        over every loss token of the records in the band
    distrust_ratio = ppl_high / ppl_low                  (None when either band has no token)

Tokens are pooled over the band (not an average of per-record perplexities), and they are the tokens training
would put in the loss: same Tokenization, same completion-only masking, same truncation to max_seq_length.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

from services.trainer.core.data import Example, read_records
from services.trainer.core.distrust import BANDS, band_of
from services.trainer.core.tokenization import Tokenization
from services.trainer.evals.likelihood import LanguageModel, sequence_nll
from shared.errors import InvalidArgument
from shared.records import RecordError, validate_training_record

logger = logging.getLogger(__name__)

BAND_RULES = {"low": "w < 0.3", "mid": "0.3 <= w <= 0.7", "high": "w > 0.7"}


def perplexity_from_nll(sum_nll: float, tokens: int) -> float | None:
    """exp(sum_nll / tokens); None when there is no token."""
    if tokens <= 0:
        return None
    try:
        return math.exp(sum_nll / tokens)
    except OverflowError:
        return math.inf


@dataclass(frozen=True)
class BandStats:
    """Records, loss tokens and their summed NLL pooled over one band (or over all records)."""

    examples: int = 0
    tokens: int = 0
    sum_nll: float = 0.0

    @property
    def mean_nll(self) -> float | None:
        return self.sum_nll / self.tokens if self.tokens else None

    @property
    def perplexity(self) -> float | None:
        return perplexity_from_nll(self.sum_nll, self.tokens)

    def plus(self, sum_nll: float, tokens: int) -> BandStats:
        return BandStats(self.examples + 1, self.tokens + tokens, self.sum_nll + sum_nll)

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "tokens": self.tokens,
            "sum_nll": self.sum_nll,
            "mean_nll": self.mean_nll,
            "perplexity": self.perplexity,
        }


@dataclass(frozen=True)
class PerplexityReport:
    """Pooled statistics per band and overall, and which records had no loss token."""

    bands: dict[str, BandStats]
    overall: BandStats
    skipped_lines: tuple[int, ...] = ()  # records left with no loss token (e.g. cut off by max_seq_length)
    max_seq_length: int | None = None

    @property
    def distrust_ratio(self) -> float | None:
        high, low = self.bands["high"].perplexity, self.bands["low"].perplexity
        if high is None or low is None or low == 0:
            return None
        return high / low

    def to_dict(self) -> dict[str, Any]:  # open: the task's report, part of the evaluation report
        return {
            "bands": {name: {**stats.to_dict(), "rule": BAND_RULES[name]} for name, stats in self.bands.items()},
            "overall": self.overall.to_dict(),
            "distrust_ratio": self.distrust_ratio,
            "examples": self.overall.examples,
            "tokens": self.overall.tokens,
            "skipped_lines": list(self.skipped_lines),
            "max_seq_length": self.max_seq_length,
        }


def aggregate_bands(
    scored: Iterable[tuple[float, float, int]], *, skipped_lines: Sequence[int] = (), max_seq_length: int | None = None
) -> PerplexityReport:
    """Pool (auth_weight, summed NLL, loss tokens) per record into the per-band and overall report."""
    bands = {name: BandStats() for name in BANDS}
    overall = BandStats()
    for auth_weight, sum_nll, tokens in scored:
        name = band_of(auth_weight)
        bands[name] = bands[name].plus(sum_nll, tokens)
        overall = overall.plus(sum_nll, tokens)
    return PerplexityReport(
        bands=bands, overall=overall, skipped_lines=tuple(skipped_lines), max_seq_length=max_seq_length
    )


def check_records(
    records: Sequence[Mapping[str, Any]], *, lines: Sequence[int] | None = None, field: str = "records"
) -> None:
    """Every record must be valid training data with an auth_weight; InvalidArgument names the line otherwise."""
    for index, record in enumerate(records):
        line = lines[index] if lines is not None else index + 1
        if not isinstance(record, Mapping):
            raise InvalidArgument(
                f"{field}: line {line}: expected a JSON object, got {type(record).__name__}", param=field
            )
        try:
            shape = validate_training_record(dict(record), require_scores=False)
        except RecordError as exc:
            raise InvalidArgument(f"{field}: line {line}: {exc}", param=field) from exc
        if shape == "preference":
            raise InvalidArgument(
                f"{field}: line {line}: preference records (chosen / rejected) have no single "
                f"text to measure perplexity on",
                param=field,
            )
        if "auth_weight" not in record:
            raise InvalidArgument(
                f'{field}: line {line}: missing "auth_weight" (perplexity by band needs it on '
                f"every record; score the data with the scorer first)",
                param=field,
            )


def load_records(
    path: Path | str, *, field: str = "file", limit: int | None = None
) -> tuple[list[dict[str, Any]], list[int]]:  # open: the user's records
    """Read a JSONL file of training records, each with an auth_weight; returns (records, their line numbers)."""
    numbered = read_records(Path(path), field=field, require_scores=False)
    if limit is not None:
        numbered = numbered[:limit]
    records = [record for _, record in numbered]
    lines = [line for line, _ in numbered]
    check_records(records, lines=lines, field=field)
    return records, lines


class PerplexityOptions(TypedDict, total=False):
    """How `band_perplexity` batches and masks the records, and how it names them in errors and progress."""

    batch_size: int  # default 4
    completion_only: bool  # default True: only completion tokens are in the loss, as in training
    lines: Sequence[int] | None  # the records' line numbers in their file (default 1..n)
    field: str  # the request field errors name (default "records")
    progress: Callable[[int, int], None] | None


def band_perplexity(
    model: LanguageModel,
    tokenizer: Any,
    records: Sequence[Mapping[str, Any]],
    *,
    max_seq_length: int,
    **options: Unpack[PerplexityOptions],
) -> PerplexityReport:
    """Perplexity per authority band of `records` (training-format dicts carrying auth_weight)."""
    batch_size = options.get("batch_size", 4)
    completion_only = options.get("completion_only", True)
    lines = options.get("lines")
    field = options.get("field", "records")
    progress = options.get("progress")
    check_records(records, lines=lines, field=field)
    tokenization = Tokenization(tokenizer, max_seq_length=max_seq_length, completion_only=completion_only)
    examples: list[Example] = []
    weights: list[float] = []
    skipped: list[int] = []
    for index, record in enumerate(records):
        line = lines[index] if lines is not None else index + 1
        try:
            tokens, mask = tokenization.encode(dict(record))
        except ValueError as exc:
            raise InvalidArgument(f"{field}: line {line}: cannot tokenize ({exc})", param=field) from exc
        if mask.size == 0 or not mask.any():
            skipped.append(line)
            continue
        examples.append(Example(tokens=tokens, mask=mask, line=line))
        weights.append(float(record["auth_weight"]))
    if skipped:
        logger.info("perplexity: %d records have no loss token after truncation", len(skipped))
    scores = []
    step = max(batch_size, 1) * 8  # report progress every few batches
    for start in range(0, len(examples), step):
        chunk = examples[start : start + step]
        scores.extend(
            sequence_nll(model, chunk, pad_id=tokenization.pad_id, batch_size=batch_size, max_seq_length=max_seq_length)
        )
        if progress is not None:
            progress(start + len(chunk), len(examples))
    scored = ((w, s.sum_nll, s.tokens) for w, s in zip(weights, scores, strict=True))
    return aggregate_bands(scored, skipped_lines=skipped, max_seq_length=max_seq_length)
