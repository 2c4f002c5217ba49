"""Prefix cache: the KV arrays of prompt prefixes, reused across requests of the same base model and adapter.

Like vLLM's automatic prefix caching, a prompt is cut into fixed-size token blocks; block k is keyed by
(model key, the id of block k-1's entry, block k's tokens), so a block stands for its whole prefix, and a lookup
walks the prompt's blocks until one is missing. Keys compare the tokens themselves (no hash collisions). The
model key is the adapter's uid (never reused) or 0 for the base: KV computed through one adapter is never
handed to another. Entries are evicted least recently used first once their bytes exceed the budget; a hit
or a store touches its blocks last-to-first, so a prefix's later blocks go before its first ones (which other
prompts may share, and without which the later ones could not be found). Used on the scheduler thread only.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import mlx.core as mx

BASE_KEY = 0
DEFAULT_BLOCK_TOKENS = 32


@dataclass(frozen=True)
class PrefixCacheSize:
    """The prefix cache's budget in bytes (0 = off) and its block length in tokens."""

    bytes: int = 0
    block: int = DEFAULT_BLOCK_TOKENS


# Per layer: (keys, values), each [1, kv_heads, tokens, head_dim].
LayerKV = list[tuple[mx.array, mx.array]]
_Key = tuple[int, int, tuple[int, ...]]  # (model key, parent block id, the block's tokens)


@dataclass(eq=False)
class _Block:
    id: int
    key: _Key
    layers: LayerKV
    nbytes: int


@dataclass(frozen=True)
class PrefixHit:
    """The longest cached prefix of a prompt: its length in tokens and its KV, per layer."""

    tokens: int
    layers: LayerKV


@dataclass
class PrefixCacheStats:
    """Lookups, hits, tokens served from the cache, evictions, and what is stored now."""

    lookups: int = 0
    hits: int = 0
    hit_tokens: int = 0
    evictions: int = 0
    blocks: int = 0
    bytes: int = 0


class PrefixCache:
    """Block-keyed KV of prompt prefixes, at most `capacity_bytes` of them; see the module docstring."""

    def __init__(self, capacity_bytes: int, block_tokens: int = DEFAULT_BLOCK_TOKENS) -> None:
        self.capacity_bytes = capacity_bytes
        self.block_tokens = block_tokens
        self._blocks: OrderedDict[_Key, _Block] = OrderedDict()  # least recently used first
        self._ids = itertools.count(1)
        self.stats = PrefixCacheStats()

    @property
    def enabled(self) -> bool:
        return self.capacity_bytes > 0

    def lookup(self, model_key: int, tokens: Sequence[int]) -> PrefixHit | None:
        """The KV of the longest cached block-aligned prefix of `tokens`, or None."""
        if not self.enabled:
            return None
        self.stats.lookups += 1
        chain = self._chain(model_key, tokens)
        if not chain:
            return None
        self._touch(chain)
        layers = [
            (
                mx.concatenate([b.layers[i][0] for b in chain], axis=2),
                mx.concatenate([b.layers[i][1] for b in chain], axis=2),
            )
            for i in range(len(chain[0].layers))
        ]
        hit = PrefixHit(tokens=len(chain) * self.block_tokens, layers=layers)
        self.stats.hits += 1
        self.stats.hit_tokens += hit.tokens
        return hit

    def cached_tokens(self, model_key: int, tokens: Sequence[int]) -> int:
        """How many leading tokens of `tokens` are cached (no side effects)."""
        return len(self._chain(model_key, tokens)) * self.block_tokens if self.enabled else 0

    def store(self, model_key: int, tokens: Sequence[int], layers: LayerKV) -> None:
        """Keep the full blocks of `tokens` whose KV `layers` holds ([1, H, >= len(tokens), D] per layer)."""
        if not self.enabled:
            return
        size = self.block_tokens
        parent = 0
        chain: list[_Block] = []
        new: list[_Block] = []
        for start in range(0, len(tokens) - size + 1, size):
            key = (model_key, parent, tuple(tokens[start : start + size]))
            block = self._blocks.get(key)
            if block is None:
                kv = [
                    (mx.contiguous(k[:, :, start : start + size]), mx.contiguous(v[:, :, start : start + size]))
                    for k, v in layers
                ]
                nbytes = sum(k.nbytes + v.nbytes for k, v in kv)
                if nbytes > self.capacity_bytes:
                    break
                block = _Block(next(self._ids), key, kv, nbytes)
                self._blocks[key] = block
                self.stats.bytes += nbytes
                new.append(block)
            chain.append(block)
            parent = block.id
        self._touch(chain)
        if new:
            mx.eval([array for block in new for pair in block.layers for array in pair])
            self.stats.blocks = len(self._blocks)
            self._evict()

    def drop(self, model_key: int) -> None:
        """Forget every block of `model_key` (its adapter was unloaded)."""
        for key in [key for key in self._blocks if key[0] == model_key]:
            self.stats.bytes -= self._blocks.pop(key).nbytes
        self.stats.blocks = len(self._blocks)

    def _chain(self, model_key: int, tokens: Sequence[int]) -> list[_Block]:
        size = self.block_tokens
        chain: list[_Block] = []
        parent = 0
        for start in range(0, len(tokens) - size + 1, size):
            block = self._blocks.get((model_key, parent, tuple(tokens[start : start + size])))
            if block is None:
                break
            chain.append(block)
            parent = block.id
        return chain

    def _touch(self, chain: list[_Block]) -> None:
        for block in reversed(chain):
            self._blocks.move_to_end(block.key)

    def _evict(self) -> None:
        while self.stats.bytes > self.capacity_bytes and self._blocks:
            _, block = self._blocks.popitem(last=False)
            self.stats.bytes -= block.nbytes
            self.stats.evictions += 1
        self.stats.blocks = len(self._blocks)
