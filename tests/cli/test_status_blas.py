"""`distrust status`'s BLAS line: the library named, and the reference BLAS as a red warning with the fix."""

from __future__ import annotations

from pathlib import Path

from cli.commands.blas import blas_status_line
from services.trainer.system.blas import detect_blas
from tests.trainer.system.blas_layout import BLAS_NAME, fake_mkl, fake_site


def test_status_line(tmp_path: Path) -> None:
    site = fake_site(tmp_path)
    reference = detect_blas(site_packages=site, system="Linux", environ={})
    line = blas_status_line(reference)
    assert line.startswith("[bold red]warning:[/bold red] BLAS: the mlx[cpu] wheel's reference BLAS")
    assert "make install" in line
    (site / "mlx_cpu.libs" / BLAS_NAME).unlink()
    (site / "mlx_cpu.libs" / BLAS_NAME).symlink_to(fake_mkl(tmp_path))
    mkl = detect_blas(site_packages=site, system="Linux", environ={})
    assert blas_status_line(mkl).startswith("[green]BLAS: Intel MKL (") and blas_status_line(mkl).endswith("[/green]")
    assert blas_status_line(detect_blas(system="Darwin")) == "[green]BLAS: Accelerate (Metal/AMX)[/green]"
    assert "unknown" in blas_status_line(detect_blas(site_packages=tmp_path / "none", system="Linux", environ={}))
