"""Training data: JSONL records (spec §6) to examples, the seeded data order, and padded micro-batches.

An `Example` holds token ids and a loss mask (see `tokenization.py`). Padding never counts (its mask is 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.trainer.core.tokenization import Tokenization
from shared.errors import InvalidArgument
from shared.records import RecordError, parse_json_object, validate_training_record

PAD_MULTIPLE = 32
MAX_LINES_NAMED = 10


@dataclass(frozen=True)
class Example:
    """One training record, tokenized."""

    tokens: np.ndarray  # int32, shape (n,)
    mask: np.ndarray  # float32, shape (n - 1,)
    line: int  # 1-based line number in the source file
    auth_weight: float | None = None
    prov_entropy: float | None = None

    @property
    def n_loss_tokens(self) -> int:
        return int(self.mask.sum())


@dataclass(frozen=True)
class Batch:
    """A padded micro-batch: tokens (B, T) int32, mask (B, T − 1) float32, weights (B,) float32."""

    tokens: np.ndarray
    mask: np.ndarray
    weights: np.ndarray
    indices: tuple[int, ...]  # example indices, in row order

    @property
    def n_loss_tokens(self) -> int:
        return int(self.mask.sum())


def lines_text(lines: Sequence[int]) -> str:
    """`lines 3, 7 and 2 more`: the first line numbers of a refusal."""
    shown = ", ".join(str(n) for n in lines[:MAX_LINES_NAMED])
    more = f" and {len(lines) - MAX_LINES_NAMED} more" if len(lines) > MAX_LINES_NAMED else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def read_records(
    path: Path, *, field: str, require_scores: bool, preference: bool = False
) -> list[tuple[int, dict[str, Any]]]:
    """Parse a JSONL file into (line number, record); blank lines are skipped.

    Every line is checked before anything is returned; records missing auth_weight / prov_entropy when the
    mode needs them, a record of the other kind (a preference pair in supervised data, or the reverse with
    `preference`), and any otherwise malformed line, raise InvalidArgument naming the first bad lines.
    """
    records: list[tuple[int, dict[str, Any]]] = []
    missing: list[int] = []
    bad: list[tuple[int, str]] = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = parse_json_object(raw)
                validate_training_record(record, require_scores=False, preference=preference)
            except RecordError as exc:
                bad.append((number, str(exc)))
                continue
            if require_scores and ("auth_weight" not in record or "prov_entropy" not in record):
                missing.append(number)
            records.append((number, record))
    if bad:
        lines = [n for n, _ in bad]
        raise InvalidArgument(
            f"{field}: invalid record on {lines_text(lines)} (line {bad[0][0]}: {bad[0][1]})", param=field
        )
    if missing:
        raise InvalidArgument(
            f"{field}: missing auth_weight / prov_entropy on {lines_text(missing)}; the "
            f"weighted and additive distrust modes need both on every record (score the data "
            f"with the scorer first)",
            param=field,
        )
    if not records:
        raise InvalidArgument(f"{field}: the file has no records", param=field)
    return records


def load_examples(
    path: Path, tokenization: Tokenization, *, field: str, require_scores: bool
) -> tuple[list[Example], list[int]]:
    """Read and tokenize a JSONL file.

    Returns the examples and the line numbers of records left out because no loss token remained (e.g. a
    completion cut off by max_seq_length).
    """
    examples: list[Example] = []
    empty: list[int] = []
    failed: list[tuple[int, str]] = []
    for line, record in read_records(path, field=field, require_scores=require_scores):
        try:
            tokens, mask = tokenization.encode(record)
        except ValueError as exc:
            failed.append((line, str(exc)))
            continue
        if mask.size == 0 or not mask.any():
            empty.append(line)
            continue
        w = record.get("auth_weight")
        h = record.get("prov_entropy")
        examples.append(
            Example(
                tokens=tokens,
                mask=mask,
                line=line,
                auth_weight=float(w) if w is not None else None,
                prov_entropy=float(h) if h is not None else None,
            )
        )
    if failed:
        raise InvalidArgument(
            f"{field}: cannot tokenize {lines_text([n for n, _ in failed])} (line {failed[0][0]}: {failed[0][1]})",
            param=field,
        )
    if not examples:
        raise InvalidArgument(
            f"{field}: no record has a token to train on after tokenization and truncation", param=field
        )
    return examples, empty


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The example order of one epoch: a permutation that depends only on (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def padded_length(longest: int, max_seq_length: int) -> int:
    """The padded length of a batch whose longest example has `longest` tokens.

    The model input (T − 1 tokens) is padded to a multiple of 32, capped at max_seq_length (as mlx-lm does):
    few distinct shapes, so few recompilations of the step.
    """
    return min(1 + PAD_MULTIPLE * -(-(longest - 1) // PAD_MULTIPLE), max(max_seq_length, longest))


def pad_rows(rows: Sequence[Example], *, pad_id: int, max_seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows' tokens (R, T) padded with `pad_id`, and their masks (R, T − 1) padded with 0."""
    length = padded_length(max(len(r.tokens) for r in rows), max_seq_length)
    tokens = np.full((len(rows), length), pad_id, dtype=np.int32)
    mask = np.zeros((len(rows), length - 1), dtype=np.float32)
    for j, row in enumerate(rows):
        tokens[j, : len(row.tokens)] = row.tokens
        mask[j, : len(row.mask)] = row.mask
    return tokens, mask


def make_batch(
    examples: Sequence[Example], indices: Sequence[int], weights: np.ndarray, *, pad_id: int, max_seq_length: int
) -> Batch:
    """The examples at `indices` as one padded micro-batch with their loss factors."""
    tokens, mask = pad_rows([examples[i] for i in indices], pad_id=pad_id, max_seq_length=max_seq_length)
    return Batch(
        tokens=tokens,
        mask=mask,
        weights=np.asarray(weights[list(indices)], dtype=np.float32),
        indices=tuple(int(i) for i in indices),
    )


def fingerprint(examples: Sequence[Example], weights: np.ndarray) -> str:
    """sha256 of the tokenized training set and its weights: a checkpoint only resumes on the same data."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(np.int64(len(example.tokens)).tobytes())
        digest.update(example.tokens.tobytes())
        digest.update(example.mask.tobytes())
    digest.update(np.asarray(weights, dtype=np.float64).tobytes())
    return digest.hexdigest()
