"""Data-parallel training over MLX's own distributed group (`mx.distributed`: the ring backend over TCP everywhere).

Every rank holds the whole model and dataset and walks the same seeded data order; of each micro-batch, rank r
trains on rows r, r + N, r + 2N… Each rank sums its rows' gradients (each micro-batch's loss already divided by
the whole step's token count), the sums are added across ranks with `all_sum`, and every rank applies the same
clipped update. So N ranks take exactly the steps of one host with the same global batch, up to the order of
float additions. Stop requests are agreed on by all ranks at each step, so no rank waits on one that left.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mlx.core as mx
from mlx.utils import tree_map

from services.trainer.core.data import Batch
from shared.errors import InvalidArgument


def join(hosts: list[str], rank: int, workdir: Path) -> Any:  # mx.distributed.Group
    """Join the ring of `hosts` (`ip:port`, one per rank, in rank order) as `rank`; blocks until all have joined."""
    if not 0 <= rank < len(hosts):
        raise InvalidArgument(f"rank: {rank} is not in [0, {len(hosts)})", param="rank")
    workdir.mkdir(parents=True, exist_ok=True)
    hostfile = workdir / "hosts.json"
    hostfile.write_text(json.dumps([[host] for host in hosts]))
    os.environ["MLX_HOSTFILE"] = str(hostfile)
    os.environ["MLX_RANK"] = str(rank)
    group = mx.distributed.init(backend="ring", strict=True)
    if group.size() != len(hosts) or group.rank() != rank:
        raise InvalidArgument(f"rank: joined as {group.rank()} of {group.size()}, expected {rank} of {len(hosts)}")
    return group


def shard(batch: Batch, rank: int, size: int) -> Batch | None:
    """Rank `rank`'s rows of a micro-batch (every `size`-th from `rank`); None when it has none."""
    rows = slice(rank, None, size)
    indices = batch.indices[rows]
    if not indices:
        return None
    return Batch(batch.tokens[rows], batch.mask[rows], batch.weights[rows], indices)


def all_sum(tree: Any, group: Any) -> Any:  # any nesting of arrays
    """The element-wise sum of `tree` over every rank of `group`."""
    return tree_map(lambda a: mx.distributed.all_sum(a, group=group), tree)


def agree(flag: bool, group: Any) -> bool:
    """True on every rank when it is True on any (a stop request seen by one rank stops them all together)."""
    total = mx.distributed.all_sum(mx.array(1 if flag else 0, dtype=mx.int32), group=group)
    return bool(total.tolist())
