"""Linear layers that apply a different LoRA adapter to each row of a batch, over one frozen base weight.

For row i: y_i = x_i W^T (+ bias) + scale_i * (x_i A_i) B_i, and rows without an adapter get the base output.
Before each forward pass the scheduler sets a `RoutingPlan` with `MultiLoRAModel.route`:

* base: no row uses an adapter; the original linear modules are swapped back in (no wrapper cost).
* uniform: every row uses the same adapter; computed exactly like mlx-lm's LoRALinear.
* mixed: the batch's n adapters are concatenated, A_cat = [A_1 | ... | A_n] ([in, r_1 + ... + r_n]) and
  B_cat = [B_1; ...; B_n], and a per-row mask keeps only the row's own block, times its scale:
  z = ((x A_cat) * mask) B_cat. Two dense matmuls whatever the mix, ranks need no padding, and base rows have
  an all-zero mask. (Measured on CPU against gathering per-row A/B for batched matmuls, or grouping rows
  by adapter: as fast as the uniform path, ~8% faster per step than the gather, ~35% than grouping.) Concatenations are cached per set of adapters,
  masks per plan, so a step adds no table work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mlx.core as mx
from mlx import nn

from services.inference.engine.adapter_files import AdapterWeights
from shared.adapter_format import LoRAPair

LINEAR_TYPES = (nn.Linear, nn.QuantizedLinear)
MAX_CACHED_TABLES = 8

# Column blocks of a concatenated table: (slot of the adapter owning the block, its rank), in order.
Layout = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class RoutingPlan:
    """Which adapter (by uid) each row of the next forward pass uses."""

    uids: tuple[int, ...] = ()  # distinct adapters in the batch, sorted
    slots: tuple[int, ...] = ()  # per row: 0 = base, k = uids[k - 1]; empty when uniform or base
    scales: tuple[float, ...] = ()  # per row: its adapter's scale (0 for base rows)
    _masks: dict[Layout, mx.array] = field(default_factory=dict, compare=False, repr=False)

    @property
    def uniform(self) -> int | None:
        return self.uids[0] if len(self.uids) == 1 and not self.slots else None

    def mask(self, layout: Layout) -> mx.array:
        """[B, 1, sum of ranks]: each row's scale on its own adapter's columns, zero elsewhere."""
        mask = self._masks.get(layout)
        if mask is None:
            owner = mx.array([slot for slot, rank in layout for _ in range(rank)], dtype=mx.int32)
            slots = mx.array(self.slots, dtype=mx.int32)[:, None]
            scales = mx.array(self.scales, dtype=mx.float32)[:, None]
            mask = mx.where(owner[None, :] == slots, scales, 0.0)[:, None, :]
            mx.eval(mask)
            self._masks[layout] = mask
        return mask


BASE_PLAN = RoutingPlan()


def plan_for(rows: Sequence[tuple[int, float] | None]) -> RoutingPlan:
    """The plan for rows given as (adapter uid, scale) or None for the base model."""
    uids = tuple(sorted({row[0] for row in rows if row is not None}))
    if not uids:
        return BASE_PLAN
    if len(uids) == 1 and all(row is not None for row in rows):
        return RoutingPlan(uids=uids)
    index = {uid: k + 1 for k, uid in enumerate(uids)}
    return RoutingPlan(
        uids=uids,
        slots=tuple(0 if row is None else index[row[0]] for row in rows),
        scales=tuple(0.0 if row is None else row[1] for row in rows),
    )


class AdapterRouting:
    """Shared by every MultiLoRALinear of a model; only the scheduler thread sets `plan`."""

    def __init__(self) -> None:
        self.plan: RoutingPlan = BASE_PLAN


class MultiLoRALinear(nn.Module):
    """A base linear layer plus the low-rank deltas of every loaded adapter, each row of a batch using its own."""

    def __init__(self, linear: nn.Module, routing: AdapterRouting) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # mlx's Module.__init__ is unannotated
        self.linear = linear
        # Plain attributes (not mx.array/dict/list), so they stay out of the module's parameters.
        self._routing = routing
        self._pairs = _PairTable()

    def __call__(self, x: mx.array) -> mx.array:
        y: mx.array = self.linear(x)  # nn.Module's __call__ is untyped
        plan = self._routing.plan
        if not plan.uids or not self._pairs.by_uid:
            return y
        uid = plan.uniform
        if uid is not None:
            entry = self._pairs.by_uid.get(uid)
            if entry is None:
                return y
            pair, scale = entry
            z = (x @ pair.a) @ pair.b
            return y + (scale * z).astype(x.dtype)
        tables = self._pairs.tables(plan.uids)
        if tables is None:
            return y
        a_cat, b_cat, layout = tables
        z = ((x @ a_cat) * plan.mask(layout)) @ b_cat
        return y + z.astype(x.dtype)

    def add(self, uid: int, pair: LoRAPair, scale: float) -> None:
        self._pairs.by_uid[uid] = (pair, scale)
        self._pairs.cache.clear()

    def remove(self, uid: int) -> None:
        if self._pairs.by_uid.pop(uid, None) is not None:
            self._pairs.cache.clear()


class _PairTable:
    def __init__(self) -> None:
        self.by_uid: dict[int, tuple[LoRAPair, float]] = {}
        self.cache: dict[tuple[int, ...], tuple[mx.array, mx.array, Layout] | None] = {}

    def tables(self, uids: tuple[int, ...]) -> tuple[mx.array, mx.array, Layout] | None:
        """A_cat, B_cat and their layout for the adapters of `uids` that adapt this layer (None if none do)."""
        if uids in self.cache:
            return self.cache[uids]
        blocks = [(slot, self.by_uid[uid][0]) for slot, uid in enumerate(uids, start=1) if uid in self.by_uid]
        tables = None
        if blocks:
            dtype = blocks[0][1].a.dtype
            a_cat = mx.concatenate([pair.a.astype(dtype) for _, pair in blocks], axis=1)
            b_cat = mx.concatenate([pair.b.astype(dtype) for _, pair in blocks], axis=0)
            mx.eval(a_cat, b_cat)
            tables = (a_cat, b_cat, tuple((slot, int(pair.a.shape[1])) for slot, pair in blocks))
        if len(self.cache) >= MAX_CACHED_TABLES:
            self.cache.clear()
        self.cache[uids] = tables
        return tables


class MultiLoRAModel:
    """Wraps the base model's linear layers on demand and installs / removes adapters in them.

    Wrapping keeps the base layer object itself, so loading or dropping an adapter never touches base weights.
    While no row of a batch uses an adapter the plain layers are swapped back in, so base-only steps cost
    exactly what they cost without adapters loaded.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.routing = AdapterRouting()
        self._linears: dict[str, nn.Module] = {
            path: module
            for path, module in model.named_modules()  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
            if isinstance(module, LINEAR_TYPES)
        }
        self._wrapped: dict[str, MultiLoRALinear] = {}
        self._slots: dict[str, tuple[nn.Module, str]] = {}  # path -> (parent module, attribute)
        self._installed: dict[int, list[str]] = {}
        self._wrappers_in = True

    def route(self, plan: RoutingPlan) -> None:
        """Set the plan for the next forward pass (the only thread running forward passes calls this)."""
        self.routing.plan = plan
        wanted = bool(plan.uids)
        if wanted != self._wrappers_in:
            for path, (parent, leaf) in self._slots.items():
                setattr(parent, leaf, self._wrapped[path] if wanted else self._linears[path])
            self._wrappers_in = wanted

    def base_shape(self, path: str) -> tuple[int, int] | None:
        module = self._linears.get(path)
        if module is None:
            return None
        out_dims, in_dims = module.weight.shape
        if isinstance(module, nn.QuantizedLinear):
            in_dims = in_dims * 32 // module.bits
        return int(in_dims), int(out_dims)

    def install(self, uid: int, weights: AdapterWeights) -> None:
        for path, pair in weights.layers.items():
            self._wrap(path).add(uid, pair, weights.scale)
        self._installed[uid] = list(weights.layers)

    def remove(self, uid: int) -> None:
        for path in self._installed.pop(uid, []):
            self._wrapped[path].remove(uid)

    @property
    def wrapped_layers(self) -> int:
        return len(self._wrapped)

    def _wrap(self, path: str) -> MultiLoRALinear:
        wrapper = self._wrapped.get(path)
        if wrapper is not None:
            return wrapper
        wrapper = MultiLoRALinear(self._linears[path], self.routing)
        parent: Any = self.model
        *parents, leaf = path.split(".")
        for part in parents:
            parent = parent[int(part)] if isinstance(parent, list) else getattr(parent, part)
        if self._wrappers_in:
            setattr(parent, leaf, wrapper)
        self._wrapped[path] = wrapper
        self._slots[path] = (parent, leaf)
        return wrapper
