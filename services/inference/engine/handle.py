"""The caller's side of a running request: a stream of Delta chunks ending with one Done, and cancel()."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from services.inference.engine.api import Delta, Done

StreamItem = Delta | Done


class RequestHandle:
    """Iterate to receive `Delta`s then a final `Done`; `cancel()` (e.g. on client disconnect) ends it early.

    Deltas already waiting when the reader comes back are merged into one, so a reader that falls behind
    (a busy server) sends fewer, larger chunks. An engine failure is raised from the iterator. A request with
    `choices` > 1 interleaves the choices' items (each carries its `index`) and ends after one Done per choice.
    """

    def __init__(self, request_id: str = "", on_cancel: Callable[[], None] | None = None, *, choices: int = 1) -> None:
        self.request_id = request_id
        self.choices = choices
        self._open = choices  # choices whose Done has not been read yet
        self._items: queue.SimpleQueue[StreamItem | BaseException] = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._on_cancel = on_cancel
        self._finished = False
        self._ahead: StreamItem | BaseException | None = None

    def __iter__(self) -> Iterator[Delta | Done]:
        return self.stream()

    def stream(self, min_interval_s: float = 0.0) -> Iterator[Delta | Done]:
        """The items, with text deltas merged so that at most one is yielded every `min_interval_s`.

        The first delta and the final `Done` are never held back; pacing only merges the deltas between them,
        so a transport sends fewer, larger messages when tokens come faster than it needs them.
        """
        next_at = 0.0
        while not self._finished:
            item, self._ahead = (self._ahead if self._ahead is not None else self._items.get()), None
            if isinstance(item, BaseException):
                self._finished = True
                raise item
            if isinstance(item, Done):
                self._open -= 1
                self._finished = self._open <= 0
                yield item
                continue
            parts, logprobs = [item.text], list(item.logprobs)
            while True:
                wait = next_at - time.monotonic()
                try:
                    following = self._items.get(timeout=wait) if wait > 0 else self._items.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(following, Delta) or following.index != item.index:
                    # Kept on the handle, not in this generator, so a new iteration still sees it.
                    self._ahead = following
                    break
                parts.append(following.text)
                logprobs.extend(following.logprobs)
            next_at = time.monotonic() + min_interval_s
            yield item if len(parts) == 1 else Delta("".join(parts), item.index, tuple(logprobs))

    def cancel(self) -> None:
        """Ask the engine to stop this request; the stream then ends with Done("cancelled") unless it already ended."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        if self._on_cancel is not None:
            self._on_cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def text(self) -> tuple[str, Done]:
        """Consume the whole stream: the completion and its Done (of choice 0 when there are several)."""
        return self.texts()[0]

    def texts(self) -> list[tuple[str, Done]]:
        """Consume the whole stream: each choice's completion and Done, by index."""
        parts: dict[int, list[str]] = {}
        ends: dict[int, Done] = {}
        for item in self:
            if isinstance(item, Delta):
                parts.setdefault(item.index, []).append(item.text)
            else:
                ends[item.index] = item
        if len(ends) < self.choices:
            raise RuntimeError("the stream was already consumed")
        return [("".join(parts.get(i, [])), ends[i]) for i in range(self.choices)]

    # Called by the engine's scheduler thread only.
    def _push(self, item: StreamItem | BaseException) -> None:
        self._items.put(item)
