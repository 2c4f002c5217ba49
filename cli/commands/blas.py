"""`distrust status`'s BLAS lines: which BLAS the local stack's MLX processes load, and each trainer worker's."""

from __future__ import annotations

from services.trainer.system.blas import OPTIMISED, BlasInfo, detect_blas
from shared.schemas.blas_kind import BlasKind


def blas_line(kind: BlasKind, description: str) -> str:
    """One rich-markup line naming a BLAS; the reference BLAS is a red warning that carries the fix."""
    if kind == "reference":
        return f"[bold red]warning:[/bold red] {description}"
    return f"[green]{description}[/green]" if kind in OPTIMISED else description


def blas_status_line(info: BlasInfo | None = None) -> str:
    """The line for the BLAS this environment's MLX loads."""
    info = info or detect_blas()
    return blas_line(info.kind, info.describe())
