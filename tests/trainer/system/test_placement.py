"""Memory tiers: a job's queue is one that only workers whose budget holds its estimate consume."""

from __future__ import annotations

import pytest

from services.trainer.system.placement import BASE_QUEUE, MIB, TIERS_MIB, queue_for, queues_for, tier_queue


def test_tiers_grow_by_about_the_square_root_of_two() -> None:
    assert TIERS_MIB[0] == 64 and TIERS_MIB[-1] == 1 << 20  # 64 MiB … 1 TiB
    assert all(1.40 < b / a < 1.43 for a, b in zip(TIERS_MIB, TIERS_MIB[1:], strict=False))


@pytest.mark.parametrize("estimate", [1, 64 * MIB, 64 * MIB + 1, 700 * MIB, 7 * 1024 * MIB, 3 << 40])
@pytest.mark.parametrize("budget", [32 * MIB, 512 * MIB, 6 * 1024 * MIB, 8 * 1024 * MIB, 192 * 1024 * MIB])
def test_a_job_is_delivered_only_where_it_fits(estimate: int, budget: int) -> None:
    queue = queue_for(estimate)
    if queue in queues_for(budget):
        assert estimate <= budget
    if max(estimate * 1.42, TIERS_MIB[0] * MIB) <= budget and estimate <= TIERS_MIB[-1] * MIB:
        assert queue in queues_for(budget)  # a worker turns away only jobs within √2 of its budget


def test_an_unknown_estimate_goes_to_every_worker() -> None:
    assert queue_for(None) == BASE_QUEUE and BASE_QUEUE in queues_for(0)
    assert queues_for(0) == [BASE_QUEUE] and tier_queue(64) == "training.mem-64m"
    assert queue_for(5 * 1024 * MIB) == tier_queue(5793)  # 5 GiB → the 5.66 GiB tier
