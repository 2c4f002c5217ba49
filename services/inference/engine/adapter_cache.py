"""Which adapters are loaded: names, least-recently-used order, pins and how many requests hold each one.

Pure bookkeeping (no MLX), safe to call from any thread. An adapter held by a queued or running request is
never evicted; unloading one that is in use hides its name at once and frees its weights when the last
request using it ends.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import NotFound, ResourceExhausted, invalid_field


@dataclass(eq=False)
class LoadedAdapter:
    """An adapter in the cache: its weights' uid in the multi-LoRA layers, pin and how many requests hold it."""

    name: str
    uid: int
    directory: Path
    rank: int
    scale: float
    nbytes: int
    pinned: bool = False
    users: int = 0
    retired: bool = field(default=False)  # unloaded or evicted; weights go once users drops to 0


class AdapterCache:
    """The loaded adapters by name, least recently used first, at most `capacity` of them; thread-safe."""

    def __init__(self, capacity: int) -> None:
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise invalid_field("adapter_cache_size", capacity, "an integer >= 1")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, LoadedAdapter] = OrderedDict()  # least recently used first
        self._uids = itertools.count(1)
        self.evictions = 0

    def new_uid(self) -> int:
        return next(self._uids)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def pinned_names(self) -> list[str]:
        with self._lock:
            return [name for name, entry in self._entries.items() if entry.pinned]

    def get(self, name: str) -> LoadedAdapter | None:
        with self._lock:
            return self._entries.get(name)

    def touch(self, name: str, *, pin: bool = False) -> bool:
        """Mark `name` used (and pinned if asked); False if it is not loaded."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return False
            self._entries.move_to_end(name)
            entry.pinned = entry.pinned or pin
            return True

    def acquire(self, name: str) -> LoadedAdapter:
        """Hold `name` for a request (until `release`); NotFound if it is not loaded."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                raise NotFound(
                    f"adapter: {name!r} is not loaded in this engine", param="adapter", code="adapter_not_loaded"
                )
            self._entries.move_to_end(name)
            entry.users += 1
            return entry

    def release(self, entry: LoadedAdapter) -> bool:
        """Drop a request's hold; True when the adapter's weights should now be freed."""
        with self._lock:
            entry.users -= 1
            return entry.retired and entry.users == 0

    def make_room(self) -> list[LoadedAdapter]:
        """Evict least recently used adapters (unpinned, not in use) until one more fits; returns those to free."""
        with self._lock:
            freed: list[LoadedAdapter] = []
            while len(self._entries) >= self.capacity:
                victim = next((e for e in self._entries.values() if not e.pinned and e.users == 0), None)
                if victim is None:
                    raise ResourceExhausted(
                        f"adapter cache is full: all {self.capacity} loaded adapters are pinned or in use; unpin "
                        f"or unload one first",
                        param="adapter",
                        code="adapter_cache_full",
                    )
                del self._entries[victim.name]
                victim.retired = True
                self.evictions += 1
                freed.append(victim)
            return freed

    def add(self, entry: LoadedAdapter) -> None:
        with self._lock:
            self._entries[entry.name] = entry

    def remove(self, name: str) -> tuple[LoadedAdapter, bool]:
        """Unload `name`; returns it and whether its weights can be freed now (no request holds it)."""
        with self._lock:
            entry = self._entries.pop(name, None)
            if entry is None:
                raise NotFound(
                    f"adapter: {name!r} is not loaded in this engine", param="adapter", code="adapter_not_loaded"
                )
            entry.retired = True
            return entry, entry.users == 0

    def pin(self, name: str, pinned: bool) -> None:
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                raise NotFound(
                    f"adapter: {name!r} is not loaded in this engine", param="adapter", code="adapter_not_loaded"
                )
            entry.pinned = pinned
