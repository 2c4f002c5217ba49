"""`distrust status`'s BLAS line: which BLAS the local stack's MLX processes load from this environment."""

from __future__ import annotations

from services.trainer.system.blas import BlasInfo, detect_blas


def blas_status_line(info: BlasInfo | None = None) -> str:
    """One rich-markup line naming the BLAS; the reference BLAS is a red warning that carries the fix."""
    info = info or detect_blas()
    if info.kind == "reference":
        return f"[bold red]warning:[/bold red] {info.describe()}"
    return f"[green]{info.describe()}[/green]" if info.optimised else info.describe()
