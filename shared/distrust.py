"""The distrust signal of a document's scores (spec §2), shared by training and preference pairs.

    c(w, H) = ln(1 − w + 1e-8) + H          w = auth_weight in [0, 0.99], H = prov_entropy >= 0 (bits)

High c: a primary, diverse source (low authority weight, high provenance entropy); low c: a coordinated,
authoritative one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shared.errors import invalid_field
from shared.records import AUTH_WEIGHT_RANGE

EPS = 1e-8


def as_scores(auth_weight: Any, prov_entropy: Any) -> tuple[np.ndarray, np.ndarray]:
    """The scores as float64 arrays of one shape; InvalidArgument naming a value out of its range."""
    w = np.asarray(auth_weight, dtype=np.float64)
    h = np.asarray(prov_entropy, dtype=np.float64)
    if w.shape != h.shape:
        raise invalid_field("prov_entropy", h.shape, f"the same shape as auth_weight {w.shape}")
    bad_w = ~np.isfinite(w) | (w < AUTH_WEIGHT_RANGE[0]) | (w > AUTH_WEIGHT_RANGE[1])
    if bad_w.any():
        raise invalid_field("auth_weight", float(w[bad_w].flat[0]), "a number in [0.0, 0.99]")
    bad_h = ~np.isfinite(h) | (h < 0)
    if bad_h.any():
        raise invalid_field("prov_entropy", float(h[bad_h].flat[0]), "a number >= 0")
    return w, h


def distrust_value(auth_weight: Any, prov_entropy: Any) -> np.ndarray:
    """c(w, H) = ln(1 − w + 1e-8) + H, elementwise (inputs validated, never clamped)."""
    w, h = as_scores(auth_weight, prov_entropy)
    value: np.ndarray = np.log(1.0 - w + EPS) + h
    return value
