"""The training machines as the API shows them: the workers' reports, and settings recommended for one of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.trainer.models.inspect import ModelInfo
from services.trainer.system.board import HardwareBoard
from services.trainer.system.recommend import recommend
from shared.errors import FailedPrecondition, NotFound
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry, model_not_found
from shared.schemas.fine_tuning import Hyperparameters
from shared.schemas.hardware import HardwareRecommendation, WorkerHardware

DEFAULT_SEQ_LEN = 512


@dataclass(frozen=True)
class RecommendQuery:
    """Which model to recommend settings for, at what sequence length, with which memory options, and where."""

    owner: str
    model: str
    seq_len: int = DEFAULT_SEQ_LEN
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)  # only the precision and QLoRA bits
    worker: str | None = None  # a worker's id; None: the live worker with the smallest budget


class Fleet:
    """The live workers' machines (from the board), else the trainer's own (`own`), and what fits them."""

    def __init__(
        self,
        board: HardwareBoard,
        registry: ModelRegistry,
        own: Callable[[], WorkerHardware],
        stores: Sequence[JobStore[Any]] = (),
    ) -> None:
        self.board = board
        self.registry = registry
        self.own = own
        self.stores = stores  # every kind of job: a running one's lease names the worker running it

    def list(self) -> list[WorkerHardware]:
        """The live workers' reports with the job each runs now; the trainer server's machine while none reports."""
        running: dict[str, str] = {}
        for store in self.stores:
            for job_id in store.active_ids():
                holder = store.lease_holder(job_id)
                if holder is not None:
                    running[holder] = job_id
        return [w.model_copy(update={"current_job": running.get(w.id)}) for w in self.board.live()] or [self.own()]

    def choose(self, worker: str | None) -> WorkerHardware:
        """The named worker, or the one with the smallest budget (a job may land on any of them)."""
        machines = self.list()
        if worker is None:
            return min(machines, key=lambda m: m.budget_bytes)
        for machine in machines:
            if machine.id == worker:
                return machine
        known = ", ".join(m.id for m in machines)
        raise NotFound(f"worker: no live worker {worker!r} (live: {known})", param="worker", code="worker_not_found")

    def recommend(self, query: RecommendQuery) -> HardwareRecommendation:
        """Settings for training the owner's base model `query.model` on the chosen worker's machine."""
        record = self.registry.get_base(query.model, owner=query.owner)
        if record is None:
            raise model_not_found(query.model)
        if not record.info:
            raise FailedPrecondition(
                f"model {query.model!r} was registered without its details; register it again", param="model"
            )
        info = ModelInfo.from_dict(record.info)
        machine = self.choose(query.worker)
        recommendation = recommend(
            info,
            machine.hardware,
            seq_len=query.seq_len,
            precision=query.hyperparameters.precision,
            quantize_base=query.hyperparameters.quantize_base,
            budget_bytes=machine.budget_bytes,
        )
        return HardwareRecommendation(worker=machine, recommendation=recommendation)
