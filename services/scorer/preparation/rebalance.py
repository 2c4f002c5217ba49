"""Authority bands (spec §4) and rebalancing to the low / mid / high targets (reference §3.5, done right).

Every low-authority record is kept. With n_low of them and targets (t_low, t_mid, t_high):

    T           = floor(n_low / t_low)            the total the low records can support
    high_target = floor(t_high · T)
    mid_target  = T − n_low − high_target         (mid takes the rounding remainder, as in the reference)

Mid and high records above their target are sampled down with the seeded RNG (without replacement, input
order kept among the survivors). A band with fewer records than its target keeps all of them; the shortfall is
reported (`short`) and the other bands are *not* enlarged to make up for it, so the low share then ends up
above its target. With the defaults, 300 / 600 / 1000 low / mid / high give 300 / 480 / 420.

Differences from the reference: no "already at least 20 % low, leave it alone" tolerance (the targets are
applied as given), seeded sampling, and zero low-authority records is a `FailedPrecondition` instead of an
empty dataset and a division by zero.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import FailedPrecondition
from shared.schemas.preparation_report import Band, Rebalancing

BANDS: tuple[Band, Band, Band] = ("low", "mid", "high")
#: low: w < LOW_BELOW; mid: LOW_BELOW ≤ w ≤ HIGH_ABOVE; high: w > HIGH_ABOVE.
LOW_BELOW = 0.3
HIGH_ABOVE = 0.7
#: Absorbs float noise in n / t (e.g. 3 / 0.1 = 29.999999999999996) before flooring.
_FLOOR_EPS = 1e-9

T = TypeVar("T")


def band_of(auth_weight: float) -> Band:
    """The authority band a score falls in: low under LOW_BELOW, high over HIGH_ABOVE, else mid."""
    if auth_weight < LOW_BELOW:
        return "low"
    if auth_weight > HIGH_ABOVE:
        return "high"
    return "mid"


def band_counts(bands: Sequence[Band]) -> dict[Band, int]:
    """How many of `bands` are each band, with every band present."""
    counts: dict[Band, int] = dict.fromkeys(BANDS, 0)
    for band in bands:
        counts[band] += 1
    return counts


@dataclass(frozen=True)
class RebalancePlan:
    """What rebalancing wants and does, per band."""

    available: dict[Band, int]
    target_total: int
    targets: dict[Band, int]
    kept: dict[Band, int]

    @property
    def dropped(self) -> dict[Band, int]:
        return {band: self.available[band] - self.kept[band] for band in BANDS}

    @property
    def short(self) -> dict[Band, int]:
        """Bands with fewer records than their target, and by how many."""
        return {
            band: self.targets[band] - self.available[band]
            for band in BANDS
            if self.available[band] < self.targets[band]
        }

    def report(self) -> Rebalancing:
        """The plan, as the report shows it."""
        return Rebalancing(
            applied=True,
            target_total=self.target_total,
            targets=dict(self.targets),
            available=dict(self.available),
            kept=dict(self.kept),
            dropped=self.dropped,
            short=self.short,
        )


def plan_rebalance(available: Mapping[Band, int], targets: tuple[float, float, float]) -> RebalancePlan:
    """Target counts for the given band counts; `FailedPrecondition` when there is no low record."""
    n_low = available["low"]
    if n_low <= 0:
        total = sum(available.values())
        raise FailedPrecondition(
            f"cannot rebalance: none of the {total} records is low-authority (auth_weight < {LOW_BELOW}); "
            "rebalancing keeps every low-authority record and samples the others to match, so it needs at "
            "least one. Add primary sources or set rebalance to false",
            param="rebalance",
        )
    t_low, _t_mid, t_high = targets
    target_total = max(n_low, math.floor(n_low / t_low + _FLOOR_EPS))
    high_target = math.floor(t_high * target_total + _FLOOR_EPS)
    mid_target = max(0, target_total - n_low - high_target)
    wanted: dict[Band, int] = {"low": n_low, "mid": mid_target, "high": high_target}
    kept: dict[Band, int] = {band: min(available[band], wanted[band]) for band in BANDS}
    return RebalancePlan(dict(available), target_total, wanted, kept)


def rebalance(
    items: Sequence[T],
    band: Callable[[T], Band],
    targets: tuple[float, float, float],
    rng: random.Random,
) -> tuple[list[T], RebalancePlan]:
    """Keep all low items, sample mid and high down to their targets; returns low + mid + high survivors."""
    groups: dict[Band, list[T]] = {b: [] for b in BANDS}
    for item in items:
        groups[band(item)].append(item)
    plan = plan_rebalance({b: len(groups[b]) for b in BANDS}, targets)
    out: list[T] = []
    for b in BANDS:
        group = groups[b]
        keep = plan.kept[b]
        if keep < len(group):
            chosen = sorted(rng.sample(range(len(group)), keep))
            group = [group[i] for i in chosen]
        out.extend(group)
    return out, plan
