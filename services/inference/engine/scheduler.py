"""The engine's one background thread: continuous batching, and the only thread that runs MLX.

Each turn it takes what arrived (new jobs, adapter commands), drops cancelled work, admits waiting jobs into
free batch slots (one batched prefill), then runs one decode step for every row and streams the results.
Adapter loads and unloads run here too, between steps, so they never race a forward pass.

Two lanes share the batch: interactive requests take up to `max_batch_size` rows of their own and are admitted
first; batch requests (the Batch API's, throughput rather than latency) fill the batch up to `batch_lane_size`
rows in all, so a running batch never takes an interactive request's slot but keeps the decode steps wide. A
round that admits a chat admits no batch request, and while chats decode a batch's prompts are prefilled a quarter
of the prefill budget at a time, so a chat's first and next tokens do not wait behind a batch's prompts.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import mlx.core as mx
from mlx import nn

from services.inference.engine.adapter_cache import AdapterCache
from services.inference.engine.api import Done, FinishReason
from services.inference.engine.batch import DecodeBatch
from services.inference.engine.multi_lora import MultiLoRAModel
from services.inference.engine.prefix_cache import PrefixCache, PrefixCacheSize
from services.inference.engine.row import Job, Row
from services.inference.engine.share_prefill import cacheable, prefill_rows
from services.inference.engine.worker import run_on_worker
from shared.errors import FailedPrecondition, InternalError

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Prompt tokens prefilled in one admission round (at least one job is always admitted).
PREFILL_TOKEN_BUDGET = 4096
# Like mlx-lm's generators: hand MLX's freed buffers back now and then, and whenever the batch empties.
CLEAR_CACHE_EVERY = 512
_WAKE = object()
_STOP = object()


@dataclass
class EngineStats:
    """Counters since the engine started: decode steps (forward passes), tokens, and the largest batch seen.

    `prefill_tokens` counts the prompt tokens the model ran: once per request whatever its `n`, and without
    the prefix served from the prefix cache (`prefix_hit_tokens`).
    """

    steps: int = 0
    generated_tokens: int = 0
    prefill_tokens: int = 0
    peak_batch: int = 0
    prefix_hits: int = 0
    prefix_hit_tokens: int = 0
    prefix_cache_bytes: int = 0
    prefix_evictions: int = 0
    queued: int = 0  # requests waiting for a batch slot, when read
    adapter_evictions: int = 0
    step_batch_sizes: dict[int, int] = field(default_factory=dict)  # rows in a decode step -> steps


class _Command(Generic[T]):
    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.future: Future[T] = Future()


class Scheduler:
    """Runs the decode loop on its own thread: admits queued requests into the batch, steps it, streams tokens."""

    def __init__(
        self,
        adapters: AdapterCache,
        max_batch_size: int,
        *,
        batch_lane_size: int = 0,
        prefix_cache: PrefixCacheSize = PrefixCacheSize(),
    ) -> None:
        self.adapters = adapters
        self.max_batch_size = max_batch_size
        self.batch_lane_size = max(batch_lane_size, max_batch_size)
        self.prefixes: PrefixCache | None = (
            PrefixCache(prefix_cache.bytes, prefix_cache.block) if prefix_cache.bytes > 0 else None
        )
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._waiting: deque[Job] = deque()
        self._background: deque[Job] = deque()  # priority "batch"
        self._inbox_lock = threading.Lock()
        self._active_lock = threading.Lock()
        self._active = 0
        self._inbox_closed = False
        self._stopping = False
        self._sweep = False
        # Set by `attach`, on the scheduler thread.
        self.lora: MultiLoRAModel | None = None
        self.batch: DecodeBatch | None = None
        self._tokenizer: Any = None
        self._eos_ids: frozenset[int] = frozenset()
        self._stats = EngineStats()
        self._done = threading.Event()
        self._thread = run_on_worker(self._run, "inference-engine")

    def attach(self, model: nn.Module, tokenizer: Any, eos_ids: frozenset[int]) -> MultiLoRAModel:
        """Install the loaded base model; must run on the scheduler thread (via `call`)."""
        self.lora = MultiLoRAModel(model)
        self.batch = DecodeBatch(self.lora, token_text=lambda token: str(tokenizer.decode([token])))
        if self.prefixes is not None and not cacheable(model):
            logger.info("prefix cache off: the model's cache is not plain KV per layer")
            self.prefixes = None
        self._tokenizer = tokenizer
        self._eos_ids = eos_ids
        return self.lora

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the scheduler thread between steps and return its result (or raise its error)."""
        if threading.current_thread() is self._thread and not self._done.is_set():
            return fn()
        command = _Command(fn)
        self._post(command)
        return command.future.result()

    def stats(self) -> EngineStats:
        stats = replace(self._stats, step_batch_sizes=dict(self._stats.step_batch_sizes))
        stats.queued = len(self._waiting) + len(self._background)
        stats.adapter_evictions = self.adapters.evictions
        if self.prefixes is not None:
            cached = self.prefixes.stats
            stats.prefix_hits, stats.prefix_hit_tokens = cached.hits, cached.hit_tokens
            stats.prefix_cache_bytes, stats.prefix_evictions = cached.bytes, cached.evictions
        return stats

    def forget_adapter(self, uid: int) -> None:
        """Free an adapter's weights and its prefix cache entries; on the scheduler thread."""
        if self.lora is not None:
            self.lora.remove(uid)
        if self.prefixes is not None:
            self.prefixes.drop(uid)

    def enqueue(self, job: Job) -> None:
        with self._active_lock:
            self._post(job)
            self._active += 1

    def active_requests(self) -> int:
        """Requests submitted and not yet ended (queued or running)."""
        with self._active_lock:
            return self._active

    def _post(self, item: object) -> None:
        # Under the lock the final drain also takes, so nothing is queued after it and left waiting forever.
        with self._inbox_lock:
            if self._inbox_closed:
                raise FailedPrecondition("the inference engine is closed")
            self._inbox.put(item)

    def wake(self) -> None:
        """Called on cancel: the next turn sweeps cancelled jobs out of the queue wherever they are."""
        self._sweep = True
        self._inbox.put(_WAKE)

    def stop(self, timeout: float | None = None) -> None:
        self._inbox.put(_STOP)
        self._done.wait(timeout)

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            self._loop()
        except BaseException as exc:
            logger.exception("the inference scheduler stopped unexpectedly")
            error = InternalError(f"the inference engine stopped: {exc}")
        finally:
            try:
                self._shutdown(error)
            finally:
                self._done.set()

    def _loop(self) -> None:
        while not self._stopping:
            idle = not self._waiting and not self._background and (self.batch is None or not self.batch.rows)
            self._drain(block=idle)
            if self._stopping or self.batch is None:
                continue
            try:
                self._admit()
                if self.batch.rows:
                    self._step()
            except Exception as exc:
                logger.exception("inference step failed; failing the running requests")
                self._fail_running(InternalError(f"inference failed: {exc}"))

    def _drain(self, *, block: bool) -> None:
        try:
            item = self._inbox.get() if block else self._inbox.get_nowait()
            while True:
                self._handle(item)
                item = self._inbox.get_nowait()
        except queue.Empty:
            pass

    def _handle(self, item: object) -> None:
        if isinstance(item, Job):
            (self._background if item.request.priority == "batch" else self._waiting).append(item)
        elif isinstance(item, _Command):
            try:
                item.future.set_result(item.fn())
            except BaseException as exc:  # handed back to the caller of `call`
                item.future.set_exception(exc)
        elif item is _STOP:
            self._stopping = True

    def _admit(self) -> None:
        assert self.batch is not None and self.lora is not None
        if self._sweep:
            self._sweep = False
            for waiting in (self._waiting, self._background):
                cancelled = [job for job in waiting if job.handle.cancelled]
                for job in cancelled:
                    waiting.remove(job)
                    self._finish_waiting(job)
        interactive = sum(row.job.request.priority != "batch" for row in self.batch.rows)
        jobs: list[Job] = []
        self._take_jobs(self._waiting, self.max_batch_size - interactive, jobs, PREFILL_TOKEN_BUDGET)
        if not jobs:  # a chat's prefill never waits for a batch's prompts in the same round
            # ... nor do running chats' next tokens wait long for a batch's prefill
            budget = PREFILL_TOKEN_BUDGET // 4 if interactive else PREFILL_TOKEN_BUDGET
            self._take_jobs(self._background, self.batch_lane_size - len(self.batch), jobs, budget)
        if not jobs:
            return
        rows = [Row(job, self._tokenizer.detokenizer, self._eos_ids, i) for job in jobs for i in range(job.request.n)]
        for job in jobs:
            job.live_rows = job.request.n
        try:
            prefilled = prefill_rows(self.lora, rows, self.prefixes)
        except Exception as exc:
            logger.exception("prefill failed")
            for row in rows:
                self._end_row(row, error=InternalError(f"inference failed: {exc}"))
            return
        self.batch.add(prefilled.rows, prefilled.cache)
        self._stats.prefill_tokens += prefilled.computed_tokens
        self._stats.peak_batch = max(self._stats.peak_batch, len(self.batch))

    def _take_jobs(self, waiting: deque[Job], free: int, jobs: list[Job], budget: int) -> None:
        """Move the jobs admitted this round from `waiting` to `jobs`.

        As many choices as free slots, within the prefill budget (at least one job when none is taken yet).
        """
        assert self.batch is not None
        while waiting:
            job = waiting[0]
            if job.handle.cancelled:
                self._finish_waiting(waiting.popleft())
                continue
            # A job takes one slot per choice; one wider than the whole batch still runs, alone.
            if job.request.n > free and (jobs or self.batch.rows):
                break
            if jobs and len(job.prompt) > budget:
                break
            budget -= len(job.prompt)
            free -= job.request.n
            jobs.append(waiting.popleft())

    def _step(self) -> None:
        assert self.batch is not None
        tokens = self.batch.step()
        self._stats.steps += 1
        sizes = self._stats.step_batch_sizes
        sizes[len(self.batch.rows)] = sizes.get(len(self.batch.rows), 0) + 1
        keep: list[int] = []
        for i, (row, token) in enumerate(zip(self.batch.rows, tokens, strict=True)):
            if row.handle.cancelled:
                self._end_row(row, "cancelled")
            elif row.feeding_prompt:
                row.feeding_prompt = False
                keep.append(i)
                continue
            else:
                self._stats.generated_tokens += 1
                reason = row.accept(token)
                if reason is None:
                    keep.append(i)
                else:
                    self._end_row(row, reason)
        self.batch.keep(keep)
        if not keep or self._stats.steps % CLEAR_CACHE_EVERY == 0:
            mx.clear_cache()

    def _end_row(self, row: Row, reason: FinishReason = "cancelled", error: BaseException | None = None) -> None:
        # Released first (with its last choice), so a reader that has seen Done never still counts it as active.
        row.job.live_rows -= 1
        if row.job.live_rows <= 0:
            self._release_job(row.job)
        if error is not None:
            row.fail(error)
        else:
            row.finish(reason)

    def _release_job(self, job: Job) -> None:
        """The job ended: drop its hold on its adapter (once), freeing an unloaded adapter with the last hold."""
        if job.released:
            return
        job.released = True
        with self._active_lock:
            self._active -= 1
        if job.adapter is not None and self.adapters.release(job.adapter):
            self.forget_adapter(job.adapter.uid)

    def _finish_waiting(self, job: Job, error: BaseException | None = None) -> None:
        self._release_job(job)
        if error is not None:
            job.handle._push(error)
        else:
            for index in range(job.request.n):
                job.handle._push(
                    Done(finish_reason="cancelled", prompt_tokens=len(job.prompt), completion_tokens=0, index=index)
                )

    def _fail_running(self, error: BaseException) -> None:
        assert self.batch is not None
        for row in self.batch.rows:
            self._end_row(row, error=error)
        self.batch.keep([])

    def _shutdown(self, error: BaseException | None) -> None:
        """End everything still here: as cancelled on close, with `error` after a crash."""
        with self._inbox_lock:
            self._inbox_closed = True
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Command) and error is not None:
                item.future.set_exception(FailedPrecondition("the inference engine is closed"))
            elif item is not _STOP:
                self._handle(item)
        if self.batch is not None:
            for row in self.batch.rows:
                self._end_row(row, "cancelled", error)
            self.batch.keep([])
        for waiting in (self._waiting, self._background):
            while waiting:
                self._finish_waiting(waiting.popleft(), error)
