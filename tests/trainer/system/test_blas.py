"""detect_blas and log_blas on copies of the mlx[cpu] wheel's layout (the real environment is never modified)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from services.trainer.system.blas import detect_blas, kind_of, log_blas
from tests.trainer.system.blas_layout import (
    BLAS_NAME,
    DEBIAN_OPENBLAS,
    REAL_LIBS,
    fake_mkl,
    fake_openblas,
    fake_site,
)


@pytest.mark.skipif(not REAL_LIBS, reason="mlx is not the mlx[cpu] wheel here")
def test_this_environment() -> None:
    info = detect_blas(environ={})
    assert info.bundled == str(REAL_LIBS[0])
    expected = "reference" if not REAL_LIBS[0].is_symlink() else info.bundled_kind
    assert info.bundled_kind == expected and info.bundled_kind in ("reference", "mkl", "openblas")
    with_env = detect_blas()
    preload = os.environ.get("LD_PRELOAD", "").lower()
    assert (with_env.preloaded is not None) == ("openblas" in preload or "mkl" in preload)


@pytest.mark.skipif(not REAL_LIBS, reason="mlx is not the mlx[cpu] wheel here")
def test_copy_of_the_real_layout(tmp_path: Path) -> None:
    libs = tmp_path / "mlx_cpu.libs"
    libs.mkdir()
    copy = libs / REAL_LIBS[0].name
    original = REAL_LIBS[0].with_name(REAL_LIBS[0].name + ".reference")
    shutil.copyfile(original if REAL_LIBS[0].is_symlink() else REAL_LIBS[0], copy)
    info = detect_blas(site_packages=tmp_path, environ={})
    assert (info.kind, info.optimised, info.target) == ("reference", False, None)
    assert "reference BLAS" in info.describe() and "make install" in info.describe()

    target = DEBIAN_OPENBLAS[0] if DEBIAN_OPENBLAS else fake_openblas(tmp_path)
    copy.unlink()
    copy.symlink_to(target)
    info = detect_blas(site_packages=tmp_path, environ={})
    assert (info.kind, info.optimised, info.target) == ("openblas", True, str(target.resolve()))
    assert info.describe().startswith("BLAS: OpenBLAS (")


def test_mkl_link_and_preloads(tmp_path: Path) -> None:
    site = fake_site(tmp_path)
    lib = site / "mlx_cpu.libs" / BLAS_NAME
    lib.unlink()
    lib.symlink_to(fake_mkl(tmp_path))
    info = detect_blas(site_packages=site, system="Linux", environ={})
    assert (info.kind, info.optimised) == ("mkl", True)
    assert info.describe() == f"BLAS: Intel MKL ({lib} -> {tmp_path / 'venv/lib/libmkl_rt.so.3'})"

    plain = fake_site(tmp_path / "plain")
    preload = {"LD_PRELOAD": "/opt/x/libfoo.so /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"}
    info = detect_blas(site_packages=plain, system="Linux", environ=preload)
    assert info.bundled_kind == "reference" and info.kind == "openblas" and info.optimised
    assert "OpenBLAS via LD_PRELOAD" in info.describe()
    info = detect_blas(site_packages=plain, system="Linux", environ={"LD_PRELOAD": "/venv/lib/libmkl_rt.so.3"})
    assert info.kind == "mkl" and info.describe() == "BLAS: Intel MKL via LD_PRELOAD (/venv/lib/libmkl_rt.so.3)"


def test_other_links_no_wheel_and_macos(tmp_path: Path) -> None:
    site = fake_site(tmp_path)
    lib = site / "mlx_cpu.libs" / BLAS_NAME
    (tmp_path / "libblis.so.4").write_bytes(b"blis")
    lib.unlink()
    lib.symlink_to(tmp_path / "libblis.so.4")
    info = detect_blas(site_packages=site, system="Linux", environ={})
    assert info.kind == "other" and not info.optimised and "libblis" in info.describe()
    info = detect_blas(site_packages=tmp_path / "empty", system="Linux", environ={})
    assert info.kind == "unknown" and info.bundled is None and "unknown" in info.describe()
    mac = detect_blas(system="Darwin")
    assert mac.kind == "accelerate" and mac.optimised and mac.describe() == "BLAS: Accelerate (Metal/AMX)"


def test_start_up_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.blas")
    reference = detect_blas(site_packages=fake_site(tmp_path), system="Linux", environ={})
    with caplog.at_level(logging.INFO, logger="tests.blas"):
        log_blas(logger, reference)
        log_blas(logger, detect_blas(system="Darwin"))
    slow, fast = caplog.records
    assert slow.levelno == logging.WARNING and "slow CPU matmuls" in slow.getMessage()
    assert "use_fast_blas.py" in slow.getMessage() and fast.levelno == logging.INFO


def test_kind_by_folder_and_name_only() -> None:
    assert kind_of("/home/mklein/venv/lib/libblas.so.3") == "other"
    assert kind_of("/home/mklein/venv/lib/libmkl_rt.so.3") == "mkl"
    assert kind_of("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3") == "openblas"
    assert kind_of("/opt/openblas/lib/x/libblas.so.3") == "other"
