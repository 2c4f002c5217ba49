"""Which BLAS MLX's CPU backend multiplies with; standard library only (scripts/use_fast_blas.py runs without packages)."""

from __future__ import annotations

from typing import Literal

# The mlx[cpu] wheel's slow reference BLAS, an optimised one, or one not recognised.
BlasKind = Literal["reference", "mkl", "openblas", "accelerate", "other", "unknown"]
