"""scripts/use_fast_blas.py on fake layouts, and on a copy of the real wheel with MKL or Debian's OpenBLAS.

The real environment is never modified: the real-library tests link a copy of mlx and mlx_cpu.libs and load it in
a fresh interpreter. `--only mkl` hides Debian's OpenBLAS, so the MKL test walks a fresh machine's path here too.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from services.trainer.system import blas_candidates
from services.trainer.system.blas_timing import time_matmul
from tests.trainer.system.blas_layout import (
    BLAS_NAME,
    DEBIAN_OPENBLAS,
    PYPI_MKL,
    REAL_LIBS,
    copy_real_wheel,
    fake_mkl,
    fake_openblas,
    fake_site,
    snapshot,
)

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "use_fast_blas.py"
linux = pytest.mark.skipif(sys.platform != "linux", reason="the script only acts on Linux")
MATMUL_LIMIT_MS = 60  # reference BLAS: ~370 ms on 2 cores; MKL and OpenBLAS: ~11-30 ms


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False, timeout=300
    )


@linux
def test_link_keep_revert_check(tmp_path: Path) -> None:
    site, runtime = fake_site(tmp_path), fake_mkl(tmp_path)
    libs = site / "mlx_cpu.libs"
    original = snapshot(libs)

    first = run("--site-packages", site, "--blas", runtime, "--no-verify")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("linked ") == 2 and "companion libraries beside them: 5 linked" in first.stdout
    assert first.stdout.splitlines()[-1].startswith("BLAS: Intel MKL (")
    linked = snapshot(libs)
    kept = run("--site-packages", site)  # a healthy link: left alone, nothing timed
    assert kept.returncode == 0 and kept.stdout.startswith("BLAS: Intel MKL") and snapshot(libs) == linked

    reverted = run("--site-packages", site, "--revert")
    assert reverted.returncode == 0 and reverted.stdout.count("restored") == 2 and snapshot(libs) == original
    check = run("--site-packages", site, "--check")
    assert check.returncode == 0 and "reference BLAS" in check.stdout and snapshot(libs) == original


def test_bad_arguments(tmp_path: Path) -> None:
    if sys.platform != "linux":
        assert run("--site-packages", tmp_path).returncode == 0
        return
    assert run("--site-packages", tmp_path).returncode == 1  # no mlx_cpu.libs there
    site = fake_site(tmp_path)
    missing = run("--site-packages", site, "--blas", tmp_path / "nope.so")
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert run("--site-packages", site, "--only", "atlas").returncode == 2
    fake = run("--site-packages", site, "--blas", fake_openblas(tmp_path))  # verified: no mlx loads from there
    assert fake.returncode == 0 and "openblas: not usable" in fake.stdout and "reference BLAS" in fake.stdout
    assert (site / "mlx_cpu.libs" / BLAS_NAME).read_bytes() == b"reference blas"


@linux
def test_nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    site = fake_site(tmp_path)
    before = snapshot(site / "mlx_cpu.libs")
    monkeypatch.setattr(blas_candidates, "installed_candidates", lambda only: [])
    script = runpy.run_path(str(SCRIPT))
    assert script["main"](["--site-packages", str(site)]) == 0
    assert "no optimised BLAS found" in capsys.readouterr().out
    assert snapshot(site / "mlx_cpu.libs") == before


def linked_copy_is_fast(site: Path, only: str, library: str) -> None:
    out = run("--site-packages", site, "--only", only)
    assert out.returncode == 0, out.stderr
    timing = time_matmul(site, runs=20)
    if timing.ms >= MATMUL_LIMIT_MS:  # another process's burst on a busy machine: a second probe decides
        timing = min(timing, time_matmul(site, runs=20), key=lambda t: t.ms)
    assert any(library in lib for lib in timing.libraries) and not timing.reference_mapped, timing.libraries
    assert timing.ms < MATMUL_LIMIT_MS, f"{library}: {timing.ms:.1f} ms per float32 1024x1024 matmul"
    lapack = "import mlx.core as mx; a = mx.random.normal((64, 64)) + 64 * mx.eye(64); "
    lapack += "assert mx.allclose(mx.linalg.inv(a, stream=mx.cpu) @ a, mx.eye(64), atol=1e-4)"
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    check = subprocess.run([sys.executable, "-c", lapack], env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


@linux
@pytest.mark.skipif(not (REAL_LIBS and PYPI_MKL), reason="needs the mlx[cpu] wheel and PyPI's mkl")
def test_copied_wheel_uses_pypi_mkl_without_preload(tmp_path: Path) -> None:
    linked_copy_is_fast(copy_real_wheel(tmp_path), "mkl", "libmkl_rt.so")


@linux
@pytest.mark.skipif(not (REAL_LIBS and DEBIAN_OPENBLAS), reason="needs the mlx[cpu] wheel and Debian's OpenBLAS")
def test_copied_wheel_uses_debian_openblas_without_preload(tmp_path: Path) -> None:
    linked_copy_is_fast(copy_real_wheel(tmp_path), "openblas", "openblas")


@linux
def test_a_python_without_mlx_has_nothing_to_do() -> None:
    bare = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT)], capture_output=True, text=True, check=False, timeout=120
    )
    assert bare.returncode == 0 and "mlx is not installed" in bare.stdout
