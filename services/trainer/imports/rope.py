"""Llama 3's rope scaling recovered from the `rope_freqs` tensor llama.cpp writes in its place.

llama.cpp stores the per-frequency factors, not the parameters. The factors fix `factor` (their maximum) and,
through the smoothly scaled middle band, the ratios of `original_max_position_embeddings` to the low / high
frequency factors; any triple with those ratios gives the same rotary embedding, so the context length is taken
from the metadata (or 8192, Llama 3's) and the two factors are fitted. The fit is checked by recomputing every
factor as mlx-lm will.
"""

from __future__ import annotations

import math

import mlx.core as mx

from shared.errors import InvalidArgument

TENSOR = "rope_freqs.weight"
_TOLERANCE = 1e-3


def llama3_factors(dims: int, base: float, scaling: dict[str, float]) -> list[float]:
    """The per-frequency factors of Llama 3 rope scaling (llama.cpp's convert_hf_to_gguf.py formula)."""
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    factors = []
    for i in range(0, dims, 2):
        wavelen = 2 * math.pi * base ** (i / dims)
        if wavelen < old / high:
            factors.append(1.0)
        elif wavelen > old / low:
            factors.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return factors


def fit_llama3_scaling(rope_freqs: mx.array, dims: int, base: float, context: int) -> dict[str, object] | None:
    """mlx-lm's `rope_scaling` entry whose factors equal `rope_freqs` (None when all are 1); an error when none does."""
    items = rope_freqs.astype(mx.float32).tolist()
    stored = [float(v) for v in items if isinstance(v, float)] if isinstance(items, list) else []
    if len(stored) != dims // 2:
        raise InvalidArgument(f"tensor {TENSOR!r}: shape {rope_freqs.shape}, expected ({dims // 2},)", param=TENSOR)
    factor = max(stored)
    if factor <= 1 + _TOLERANCE:
        return None
    points = [
        (1 / (2 * math.pi * base ** (2 * i / dims)), (1 / r - 1 / factor) / (1 - 1 / factor))
        for i, r in enumerate(stored)
        if 1 + _TOLERANCE < r < factor * (1 - _TOLERANCE)
    ]
    if len(points) < 2:
        raise InvalidArgument(
            f"tensor {TENSOR!r}: fewer than two smoothly scaled frequencies, so Llama 3 rope scaling cannot be "
            "recovered from it",
            param=TENSOR,
        )
    # smooth = context / wavelen / (high - low) - low / (high - low): a line in 1 / wavelen, fitted by least squares.
    n = len(points)
    mean_x, mean_y = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    span = context / slope
    low = -(mean_y - slope * mean_x) * span
    scaling = {
        "factor": factor,
        "low_freq_factor": low,
        "high_freq_factor": low + span,
        "original_max_position_embeddings": float(context),
    }
    rebuilt = llama3_factors(dims, base, scaling)
    if any(abs(a - b) > _TOLERANCE * max(1.0, b) for a, b in zip(rebuilt, stored, strict=True)):
        raise InvalidArgument(f"tensor {TENSOR!r}: the factors do not follow Llama 3 rope scaling", param=TENSOR)
    return {"rope_type": "llama3", **scaling, "original_max_position_embeddings": context}
