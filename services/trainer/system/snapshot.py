"""A worker's report about its machine, taken at start and refreshed on a heartbeat until the worker stops."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from services.trainer.system.blas import BlasInfo, detect_blas
from services.trainer.system.board import HardwareBoard
from services.trainer.system.hardware import detect_hardware
from services.trainer.system.memory import memory_budget
from shared.errors import DistrustError
from shared.schemas.hardware import Hardware, HardwareRole, WorkerHardware

logger = logging.getLogger(__name__)
TTL_BEATS = 3  # a report outlives this many missed heartbeats, then the worker counts as gone


def this_process() -> str:
    """The id of the current process as a worker: `hostname:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def take_snapshot(
    role: HardwareRole,
    budget_gb: float,
    *,
    hardware: Hardware | None = None,
    blas: BlasInfo | None = None,
    worker_id: str | None = None,
    queues: list[str] | None = None,
) -> WorkerHardware:
    """The machine now: its hardware, the budget a job gets (`budget_gb`, or 80 % of what is free) and its BLAS."""
    hardware = hardware or detect_hardware()
    blas = blas or detect_blas()
    return WorkerHardware(
        id=worker_id or this_process(),
        hostname=socket.gethostname(),
        role=role,
        hardware=hardware,
        budget_bytes=int(budget_gb * 1e9) if budget_gb > 0 else memory_budget(hardware),
        budget_configured=budget_gb > 0,
        blas=blas.describe(),
        blas_kind=blas.kind,
        updated_at=int(time.time()),
        queues=queues or [],
    )


def refreshed(hardware: Hardware) -> Hardware:
    """`hardware` with its memory read again; the MLX facts stay (a job may be using MLX in another thread)."""
    now = detect_hardware(with_mlx=False)
    memory = now.model_dump(include={"total_memory_bytes", "available_memory_bytes", "memory_source"})
    return hardware.model_copy(update=memory)


class Heartbeat:
    """Publish a fresh snapshot every `interval_s` seconds in a daemon thread; `stop()` removes it."""

    def __init__(self, board: HardwareBoard, snapshot: Callable[[], WorkerHardware], interval_s: float) -> None:
        self.board = board
        self.snapshot = snapshot
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hardware-heartbeat", daemon=True)
        self.worker_id: str | None = None

    def beat(self) -> WorkerHardware:
        """Publish one snapshot now and return it."""
        worker = self.snapshot()
        self.worker_id = worker.id
        self.board.publish(worker, ttl_s=max(1, round(TTL_BEATS * self.interval_s)))
        return worker

    def start(self) -> WorkerHardware:
        """Publish the first snapshot (errors raise), then keep publishing in the background."""
        worker = self.beat()
        self._thread.start()
        return worker

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except DistrustError as exc:  # Redis away for a while: the next beat publishes again
                logger.warning("could not publish this worker's hardware: %s", exc.message)

    def stop(self) -> None:
        """Stop publishing and remove this worker's report."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 5)
        if self.worker_id is not None:
            self.board.remove(self.worker_id)
