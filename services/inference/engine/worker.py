"""Long-lived threads for running MLX, reused from one engine to the next and never ended.

MLX keeps a compile cache per thread whose destructor takes the GIL; a thread that exits while the interpreter
is shutting down (e.g. an engine closed just before exit) then aborts the whole process. Parking finished
workers for reuse avoids ever ending such a thread; daemon threads blocked on a queue die quietly at exit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar, cast

logger = logging.getLogger(__name__)
T = TypeVar("T")

_idle: list[_Worker] = []
_idle_lock = threading.Lock()


class _Worker:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="mlx-worker", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except BaseException:
                logger.exception("an MLX worker job failed")
            self.thread.name = "mlx-worker"
            with _idle_lock:
                _idle.append(self)


def run_on_worker(job: Callable[[], None], name: str) -> threading.Thread:
    """Run `job` on an idle worker thread (starting one if none is idle) and return that thread."""
    with _idle_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
    worker.thread.name = name
    worker._jobs.put(job)
    return worker.thread


class MLXThread:
    """Calls run one at a time on one long-lived worker thread; `call` waits for the result (or the error)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], Future[object]] | None] = queue.SimpleQueue()
        self.thread = run_on_worker(self._loop, name)

    def call(self, fn: Callable[[], T]) -> T:
        future: Future[object] = Future()
        self._jobs.put((fn, future))
        return cast(T, future.result())

    def close(self) -> None:
        """Hand the thread back to the idle workers once the calls already given have run."""
        self._jobs.put(None)

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller of `call`
                future.set_exception(exc)
