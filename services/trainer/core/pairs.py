"""Preference data: JSONL pairs (a prompt, a preferred and a non-preferred answer) to tokenized pairs and batches.

Each side is the prompt followed by one answer, its loss mask over that answer's tokens only. A batch of B pairs
holds 2B rows: the B chosen sides, then the B rejected ones, padded together so one forward pass scores both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.trainer.core.data import Example, lines_text, pad_rows, read_records
from services.trainer.core.tokenization import Tokenization
from shared.errors import InvalidArgument
from shared.records import preference_parts


@dataclass(frozen=True)
class PreferencePair:
    """One pair, tokenized: both sides share the prompt and differ in the answer."""

    chosen: Example
    rejected: Example
    line: int
    margin: float | None = None  # the provenance margin a pair builder recorded (`metadata.margin`)


@dataclass(frozen=True)
class PairBatch:
    """B pairs as 2B padded rows (chosen first), their masks, and each pair's loss weight (B,)."""

    tokens: np.ndarray
    mask: np.ndarray
    weights: np.ndarray
    indices: tuple[int, ...]


def load_pairs(path: Path, tokenization: Tokenization, *, field: str) -> tuple[list[PreferencePair], list[int]]:
    """Read and tokenize a preference JSONL file; also the lines left out (an answer cut off by max_seq_length)."""
    pairs: list[PreferencePair] = []
    empty: list[int] = []
    failed: list[tuple[int, str]] = []
    for line, record in read_records(path, field=field, require_scores=False, preference=True):
        prompt, preferred, non_preferred = preference_parts(record)
        try:
            sides = [tokenization.encode_answer(prompt, answer) for answer in (preferred, non_preferred)]
        except ValueError as exc:
            failed.append((line, str(exc)))
            continue
        if any(not mask.any() for _tokens, mask in sides):
            empty.append(line)
            continue
        chosen, rejected = (Example(tokens=tokens, mask=mask, line=line) for tokens, mask in sides)
        pairs.append(PreferencePair(chosen=chosen, rejected=rejected, line=line, margin=_margin(record)))
    if failed:
        raise InvalidArgument(
            f"{field}: cannot tokenize {lines_text([n for n, _ in failed])} (line {failed[0][0]}: {failed[0][1]})",
            param=field,
        )
    if not pairs:
        raise InvalidArgument(f"{field}: no pair has both answers left after truncation to max_seq_length", param=field)
    return pairs, empty


def _margin(record: dict[str, Any]) -> float | None:
    margin = (record.get("metadata") or {}).get("margin")
    if isinstance(margin, bool) or not isinstance(margin, int | float):
        return None
    return float(margin) if math.isfinite(margin) and margin >= 0 else None


def make_pair_batch(
    pairs: Sequence[PreferencePair], indices: Sequence[int], weights: np.ndarray, *, pad_id: int, max_seq_length: int
) -> PairBatch:
    """The pairs at `indices` as one padded batch: chosen rows, then rejected rows."""
    rows = [pairs[i].chosen for i in indices] + [pairs[i].rejected for i in indices]
    tokens, mask = pad_rows(rows, pad_id=pad_id, max_seq_length=max_seq_length)
    return PairBatch(
        tokens=tokens,
        mask=mask,
        weights=np.asarray(weights[list(indices)], dtype=np.float32),
        indices=tuple(int(i) for i in indices),
    )
