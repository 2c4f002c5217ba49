"""Fake and real layouts of the mlx[cpu] wheel's bundled libraries and of the BLAS candidates, for the BLAS tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from services.trainer.system.blas import bundled_libraries, mlx_site_packages
from services.trainer.system.blas_candidates import debian_openblas, pypi_mkl_runtime

REAL_SITE = mlx_site_packages()
REAL_LIBS = bundled_libraries(REAL_SITE, "libblas") if REAL_SITE else []
DEBIAN_OPENBLAS = debian_openblas()
PYPI_MKL = pypi_mkl_runtime()
BLAS_NAME, LAPACK_NAME = "libblas-bd8a282c.so.3.10.0", "liblapack-86b2c207.so.3.10.0"
MKL_FILES = ("libmkl_core.so.3", "libmkl_intel_thread.so.3", "libmkl_def.so.3", "libiomp5.so", "libtbbmalloc.so.2")


def fake_openblas(root: Path, *, lapack: bool = True) -> Path:
    folder = root / "usr/lib/x86_64-linux-gnu/openblas-pthread"
    folder.mkdir(parents=True)
    (folder / "libblas.so.3").write_bytes(b"openblas blas")
    if lapack:
        (folder / "liblapack.so.3").write_bytes(b"openblas lapack")
    return folder / "libblas.so.3"


def fake_mkl(root: Path) -> Path:
    """A venv's `lib/` as PyPI's mkl, intel-openmp and tbb leave it (no symlinks: wheels cannot hold them)."""
    lib = root / "venv/lib"
    lib.mkdir(parents=True)
    for name in ("libmkl_rt.so.3", *MKL_FILES, "libiomp5.a", "libmkl_core.so.3.dbg", "libpython3.11.so"):
        (lib / name).write_bytes(name.encode())
    return lib / "libmkl_rt.so.3"


def fake_site(root: Path) -> Path:
    libs = root / "site-packages/mlx_cpu.libs"
    libs.mkdir(parents=True)
    (libs / BLAS_NAME).write_bytes(b"reference blas")
    (libs / LAPACK_NAME).write_bytes(b"reference lapack")
    (libs / "libgfortran-f7379c93.so.5.0.0").write_bytes(b"gfortran")
    return root / "site-packages"


def snapshot(folder: Path) -> dict[str, str | bytes]:
    return {p.name: (f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes()) for p in folder.iterdir()}


def copy_real_wheel(site: Path) -> Path:
    """A copy of this environment's mlx and mlx_cpu.libs as the wheel installed them (links undone)."""
    assert REAL_SITE is not None
    for name in ("mlx", "mlx_cpu.libs"):
        shutil.copytree(
            REAL_SITE / name,
            site / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__", "include", "*.reference"),
        )
    libs = site / "mlx_cpu.libs"
    for link in [p for p in libs.iterdir() if p.is_symlink()]:  # the real env may be linked already
        link.unlink()
        reference = REAL_SITE / "mlx_cpu.libs" / (link.name + ".reference")
        if reference.is_file():
            shutil.copyfile(reference, link)
    return site
