"""Placement of fine-tuning jobs by memory, on Celery's own routing: one queue per memory tier.

A job whose estimate is E goes to the queue of the smallest tier T ≥ E; a worker whose budget is B consumes every
tier T ≤ B. So a job is only ever delivered to a worker whose budget is at least its estimate (a 7B QLoRA job
never reaches an 8 GB worker), and a big worker still takes small jobs. Tiers grow by √2 (64 MiB … 1 TiB), so a
worker turns away at most jobs within a factor √2 of its budget. Jobs whose estimate is not known before a
worker has the model (a Hub model) go to the plain queue every worker consumes, and the worker's own check
refuses what does not fit.
"""

from __future__ import annotations

from typing import Protocol

BASE_QUEUE = "training"
MIB = 1 << 20
TIERS_MIB = tuple(round(64 * 2 ** (i / 2)) for i in range(29))  # 64 MiB … 1 TiB


def tier_queue(mib: int) -> str:
    """The queue of the tier of `mib` MiB."""
    return f"{BASE_QUEUE}.mem-{mib}m"


def queue_for(estimate_bytes: int | None) -> str:
    """Where a job that needs `estimate_bytes` is queued (None: not known yet, any worker)."""
    if estimate_bytes is None:
        return BASE_QUEUE
    for mib in TIERS_MIB:
        if mib * MIB >= estimate_bytes:
            return tier_queue(mib)
    return tier_queue(TIERS_MIB[-1])


def queues_for(budget_bytes: int) -> list[str]:
    """The queues a worker with `budget_bytes` consumes: the plain one and every tier it can hold."""
    return [BASE_QUEUE, *(tier_queue(mib) for mib in TIERS_MIB if mib * MIB <= budget_bytes)]


class Sender(Protocol):
    """What sends a task (Celery's app)."""

    def send_task(
        self, name: str, args: list[str], kwargs: dict[str, int] | None = None, queue: str = ...
    ) -> object: ...


def send_placed(app: Sender, task: str, job_id: str, queue: str | None, ranks: int | None) -> None:
    """Queue `task(job_id)` on its tier's queue: once, or once per rank (`rank=r`) for a data-parallel job."""
    if ranks is None:
        app.send_task(task, args=[job_id], queue=queue or BASE_QUEUE)
        return
    for rank in range(ranks):
        app.send_task(task, args=[job_id], kwargs={"rank": rank}, queue=queue or BASE_QUEUE)
