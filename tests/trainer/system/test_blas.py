"""detect_blas on copies of the mlx[cpu] wheel's layout (the real environment is never modified)."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

import pytest

from services.trainer.system.blas import detect_blas, optimised_blas_candidates
from tests.trainer.system.blas_layout import DEBIAN_OPENBLAS, REAL_LIBS, fake_openblas, fake_site


@pytest.mark.skipif(not REAL_LIBS, reason="mlx is not the mlx[cpu] wheel here")
def test_this_environment() -> None:
    info = detect_blas(environ={})
    assert info.bundled == str(REAL_LIBS[0])
    assert info.bundled_kind == ("openblas" if REAL_LIBS[0].is_symlink() else "reference")
    with_env = detect_blas()
    assert (with_env.preloaded is not None) == ("openblas" in os.environ.get("LD_PRELOAD", "").lower())


@pytest.mark.skipif(not REAL_LIBS, reason="mlx is not the mlx[cpu] wheel here")
def test_copy_of_the_real_layout(tmp_path: Path) -> None:
    libs = tmp_path / "mlx_cpu.libs"
    libs.mkdir()
    copy = libs / REAL_LIBS[0].name
    shutil.copyfile(
        REAL_LIBS[0].resolve()
        if not REAL_LIBS[0].is_symlink()
        else REAL_LIBS[0].with_name(REAL_LIBS[0].name + ".reference"),
        copy,
    )
    info = detect_blas(site_packages=tmp_path, environ={})
    assert (info.kind, info.optimised, info.target) == ("reference", False, None)
    assert "reference BLAS" in info.describe() and "use_openblas.py" in info.describe()

    target = DEBIAN_OPENBLAS[0] if DEBIAN_OPENBLAS else fake_openblas(tmp_path)
    copy.unlink()
    copy.symlink_to(target)
    info = detect_blas(site_packages=tmp_path, environ={})
    assert (info.kind, info.optimised, info.target) == ("openblas", True, str(target.resolve()))
    assert info.describe().startswith("BLAS: OpenBLAS (")


def test_preload_and_other_links(tmp_path: Path) -> None:
    site = fake_site(tmp_path)
    preload = {"LD_PRELOAD": "/opt/x/libfoo.so /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"}
    info = detect_blas(site_packages=site, system="Linux", environ=preload)
    assert info.bundled_kind == "reference" and info.kind == "openblas" and info.optimised
    assert "LD_PRELOAD" in info.describe()
    lib = site / "mlx_cpu.libs/libblas-bd8a282c.so.3.10.0"
    (tmp_path / "libblis.so.4").write_bytes(b"blis")
    lib.unlink()
    lib.symlink_to(tmp_path / "libblis.so.4")
    info = detect_blas(site_packages=site, system="Linux", environ={})
    assert info.kind == "other" and not info.optimised and "libblis" in info.describe()


def test_no_wheel_layout_and_macos(tmp_path: Path) -> None:
    info = detect_blas(site_packages=tmp_path, system="Linux", environ={})
    assert info.kind == "unknown" and info.bundled is None and "unknown" in info.describe()
    mac = detect_blas(system="Darwin")
    assert mac.kind == "accelerate" and mac.optimised and mac.describe() == "BLAS: Accelerate (Metal/AMX)"


def test_candidates(tmp_path: Path) -> None:
    blas = fake_openblas(tmp_path)
    serial = tmp_path / "usr/lib/x86_64-linux-gnu/openblas-serial"
    serial.mkdir()
    dirs = (str(blas.parent), str(serial), str(tmp_path / "absent"))
    assert optimised_blas_candidates(dirs) == [blas]
    assert all(p.is_file() and "openblas" in str(p) for p in DEBIAN_OPENBLAS)
    debian = Path("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3")
    if platform.machine() == "x86_64" and debian.is_file():
        assert DEBIAN_OPENBLAS[0] == debian
