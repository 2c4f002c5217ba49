"""Decode against the machine's limit: weight bytes read per token x tokens/s vs measured memory bandwidth.

Memory bandwidth is measured with a large numpy copy (`np.copyto` of a 512 MiB float32 array into another,
best of 5 after one untimed copy): each copy reads and writes the array once, so it moves 2 x 512 MiB; the
figure is 2 x bytes / seconds. numpy copies on one thread, so it is what one core can stream, which is also
what a single decode stream on the CPU gets when MLX runs it with one BLAS thread.

Weight bytes per token: every parameter of the model (quantized weights, their scales and biases, norms, the
embedding) in its stored dtype. A decode step reads each matrix once; the embedding table is read in full
because SmolLM2 ties it to the output head. The KV cache is left out, so the figure is a lower bound on the
bytes actually moved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

COPY_BYTES = 512 * 2**20


@dataclass(frozen=True)
class DecodeBandwidth:
    """One decode rate set against the measured bandwidth."""

    weight_bytes: int
    tokens_per_s: float
    memory_bytes_per_s: float

    @property
    def used_bytes_per_s(self) -> float:
        return self.weight_bytes * self.tokens_per_s

    @property
    def fraction(self) -> float:
        return self.used_bytes_per_s / self.memory_bytes_per_s

    def line(self, label: str) -> str:
        return (
            f"decode_bandwidth {label}: weights={self.weight_bytes / 1e6:.1f} MB/token x {self.tokens_per_s:.1f} "
            f"tok/s = {self.used_bytes_per_s / 1e9:.2f} GB/s of measured {self.memory_bytes_per_s / 1e9:.2f} GB/s "
            f"(numpy copy) = {100 * self.fraction:.1f} % (goal >= 50 %)"
        )


def memory_bandwidth(nbytes: int = COPY_BYTES, rounds: int = 5) -> float:
    """Bytes per second one large numpy copy moves (read + write), best of `rounds`."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    return 2 * nbytes / best


def weight_bytes(model: Any) -> int:
    """The bytes of every parameter of an MLX model, in its stored dtypes."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    leaves = tree_flatten(model.parameters())
    return sum(int(leaf[1].nbytes) for leaf in leaves if isinstance(leaf, tuple) and isinstance(leaf[1], mx.array))
