"""Stop sequences on decoded text: text that could still become a stop sequence is held back, never emitted."""

from __future__ import annotations


class StopMatcher:
    """Feed decoded text as it streams; get back what is safe to emit and whether a stop sequence completed.

    Matching is on text, not tokens, so a stop string split over several tokens (or sharing a token with other
    text) is still found. Everything from the first stop sequence on is dropped.
    """

    def __init__(self, stops: tuple[str, ...] | list[str]) -> None:
        self.stops = tuple(stops)
        self._held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Return (text safe to emit now, whether a stop sequence was found)."""
        if not self.stops:
            return text, False
        buffer = self._held + text
        found = [i for i in (buffer.find(stop) for stop in self.stops) if i >= 0]
        if found:
            self._held = ""
            return buffer[: min(found)], True
        keep = self._partial_suffix(buffer)
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep], False

    def flush(self) -> str:
        """The held-back text, once the stream has ended without a stop sequence."""
        held, self._held = self._held, ""
        return held

    def _partial_suffix(self, buffer: str) -> int:
        """Length of the longest end of `buffer` that is the start of some stop sequence."""
        best = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(buffer)), best, -1):
                if buffer.endswith(stop[:size]):
                    best = size
                    break
        return best
