"""scripts/use_openblas.py on fake and copied site-packages: links, is idempotent, reverts exactly."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.trainer.system import blas as blas_module
from services.trainer.system.blas import detect_blas
from services.trainer.system.openblas import link_openblas, revert_openblas
from tests.trainer.system.blas_layout import DEBIAN_OPENBLAS, REAL_LIBS, REAL_SITE, fake_openblas, fake_site

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "use_openblas.py"


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def snapshot(folder: Path) -> dict[str, str | bytes]:
    return {p.name: (f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes()) for p in folder.iterdir()}


@pytest.mark.skipif(sys.platform != "linux", reason="the script only acts on Linux")
def test_link_idempotent_revert(tmp_path: Path) -> None:
    site, blas = fake_site(tmp_path), fake_openblas(tmp_path)
    libs = site / "mlx_cpu.libs"
    original = snapshot(libs)

    first = run("--site-packages", site, "--blas", blas)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("linked ") == 2 and "BLAS: OpenBLAS" in first.stdout
    blas_lib, lapack_lib = libs / "libblas-bd8a282c.so.3.10.0", libs / "liblapack-86b2c207.so.3.10.0"
    assert blas_lib.is_symlink() and blas_lib.resolve() == blas
    assert lapack_lib.is_symlink() and lapack_lib.resolve() == blas.with_name("liblapack.so.3")
    assert (libs / "libblas-bd8a282c.so.3.10.0.reference").read_bytes() == b"reference blas"
    assert detect_blas(site_packages=site, environ={}).kind == "openblas"
    linked = snapshot(libs)

    second = run("--site-packages", site, "--blas", blas)
    assert second.returncode == 0 and second.stdout.count("already linked") == 2
    assert snapshot(libs) == linked

    reverted = run("--site-packages", site, "--revert")
    assert reverted.returncode == 0 and reverted.stdout.count("restored") == 2
    assert snapshot(libs) == original
    again = run("--site-packages", site, "--revert")
    assert again.returncode == 0 and "nothing to revert" in again.stdout and snapshot(libs) == original

    check = run("--site-packages", site, "--check")
    assert check.returncode == 0 and "reference BLAS" in check.stdout and snapshot(libs) == original


def test_without_openblas_lapack_and_after_reinstall(tmp_path: Path) -> None:
    site, blas = fake_site(tmp_path), fake_openblas(tmp_path, lapack=False)
    libs = site / "mlx_cpu.libs"
    actions = {a.library.name.split("-")[0]: a.action for a in link_openblas(site, blas)}
    assert actions == {"libblas": "linked", "liblapack": "no-target"}
    assert not (libs / "liblapack-86b2c207.so.3.10.0").is_symlink()
    # pip reinstalls the wheel: a plain file again, and our stale reference copy still there.
    (libs / "libblas-bd8a282c.so.3.10.0").unlink()
    (libs / "libblas-bd8a282c.so.3.10.0").write_bytes(b"reference blas v2")
    assert next(a.action for a in link_openblas(site, blas)) == "linked"
    assert (libs / "libblas-bd8a282c.so.3.10.0.reference").read_bytes() == b"reference blas v2"
    other = fake_openblas(tmp_path / "other")
    assert next(a.action for a in link_openblas(site, other)) == "relinked"
    revert_openblas(site)
    assert (libs / "libblas-bd8a282c.so.3.10.0").read_bytes() == b"reference blas v2"


def test_bad_arguments(tmp_path: Path) -> None:
    if sys.platform != "linux":
        assert run("--site-packages", tmp_path).returncode == 0
        return
    assert run("--site-packages", tmp_path).returncode == 1  # no mlx_cpu.libs there
    site = fake_site(tmp_path)
    missing = run("--site-packages", site, "--blas", tmp_path / "nope.so")
    assert missing.returncode == 1 and "no such file" in missing.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="the script only acts on Linux")
def test_no_openblas_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = fake_site(tmp_path)
    before = snapshot(site / "mlx_cpu.libs")
    monkeypatch.setattr(blas_module, "optimised_blas_candidates", lambda: [])
    script = runpy.run_path(str(SCRIPT))
    assert script["main"](["--site-packages", str(site)]) == 0
    assert "apt-get install libopenblas0-pthread" in capsys.readouterr().out
    assert snapshot(site / "mlx_cpu.libs") == before


@pytest.mark.skipif(not (REAL_LIBS and DEBIAN_OPENBLAS), reason="needs the mlx[cpu] wheel and Debian's OpenBLAS")
def test_copied_wheel_loads_openblas_without_preload(tmp_path: Path) -> None:
    assert REAL_SITE is not None
    for name in ("mlx", "mlx_cpu.libs"):
        shutil.copytree(
            REAL_SITE / name,
            tmp_path / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__", "include", "*.reference"),
        )
    libs = tmp_path / "mlx_cpu.libs"
    for link in [p for p in libs.iterdir() if p.is_symlink()]:  # the real env may be linked already
        link.unlink()
        shutil.copyfile(REAL_SITE / "mlx_cpu.libs" / (link.name + ".reference"), link)
    assert run("--site-packages", tmp_path).returncode == 0
    probe = (
        "import mlx.core as mx, numpy as np\n"
        "a = mx.random.normal((256, 256)); b = mx.random.normal((256, 256))\n"
        "assert np.allclose(np.array(a @ b), np.array(a) @ np.array(b), atol=1e-3)\n"
        "print([l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower()])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"} | {"PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "openblas" in out.stdout and "libblas-" not in out.stdout
