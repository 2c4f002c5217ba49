"""Fake and real layouts of the mlx[cpu] wheel's bundled libraries, shared by the BLAS tests."""

from __future__ import annotations

from pathlib import Path

from services.trainer.system.blas import bundled_libraries, mlx_site_packages, optimised_blas_candidates

REAL_SITE = mlx_site_packages()
REAL_LIBS = bundled_libraries(REAL_SITE, "libblas") if REAL_SITE else []
DEBIAN_OPENBLAS = optimised_blas_candidates()


def fake_openblas(root: Path, *, lapack: bool = True) -> Path:
    folder = root / "usr/lib/x86_64-linux-gnu/openblas-pthread"
    folder.mkdir(parents=True)
    (folder / "libblas.so.3").write_bytes(b"openblas blas")
    if lapack:
        (folder / "liblapack.so.3").write_bytes(b"openblas lapack")
    return folder / "libblas.so.3"


def fake_site(root: Path) -> Path:
    libs = root / "site-packages/mlx_cpu.libs"
    libs.mkdir(parents=True)
    (libs / "libblas-bd8a282c.so.3.10.0").write_bytes(b"reference blas")
    (libs / "liblapack-86b2c207.so.3.10.0").write_bytes(b"reference lapack")
    (libs / "libgfortran-f7379c93.so.5.0.0").write_bytes(b"gfortran")
    return root / "site-packages"
