"""Seeded shuffle and train / validation split that never leaves the train set empty.

Sizes for n records and val_fraction f (0 ≤ f ≤ 0.5):

* n = 0: `FailedPrecondition` (nothing to train on);
* f = 0: everything is train;
* n = 1: the record is train, validation is empty, and a warning says so (a run on one record is legal but
  has nothing to validate on);
* otherwise n_val = round-half-up(n · f), raised to at least 1 (f > 0 asked for a validation set, warned when
  raised) and capped at n − 1, so train always has at least one record.

The shuffle is `rng.shuffle` of a copy; train is the first n − n_val records, validation the rest.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TypeVar

from shared.errors import FailedPrecondition

T = TypeVar("T")


def split_sizes(n: int, val_fraction: float) -> tuple[int, int, list[str]]:
    """(n_train, n_val, warnings) for n records."""
    if n < 1:
        raise FailedPrecondition("cannot split: there are no records left to put in the train set")
    if val_fraction <= 0.0:
        return n, 0, []
    if n == 1:
        warning = f"only 1 record: it is the train set; no validation set (val_fraction={val_fraction})"
        return 1, 0, [warning]
    wanted = math.floor(n * val_fraction + 0.5)
    n_val = min(max(1, wanted), n - 1)
    warnings: list[str] = []
    if n_val != wanted:
        warnings.append(
            f"validation set has {n_val} of {n} records (val_fraction={val_fraction} gives {wanted}); "
            "adjusted so that both sets are non-empty"
        )
    return n - n_val, n_val, warnings


def shuffle_and_split(
    items: Sequence[T], val_fraction: float, rng: random.Random
) -> tuple[list[T], list[T], list[str]]:
    """(train, val, warnings) after a seeded shuffle."""
    n_train, _n_val, warnings = split_sizes(len(items), val_fraction)
    shuffled = list(items)
    rng.shuffle(shuffled)
    return shuffled[:n_train], shuffled[n_train:], warnings
