"""Linking the wheel's bundled libraries to MKL or OpenBLAS on fake layouts: idempotent, switchable, revertible."""

from __future__ import annotations

from pathlib import Path

from services.trainer.system.blas import detect_blas
from services.trainer.system.blas_candidates import candidate_for
from services.trainer.system.blas_link import link_blas, revert_blas
from tests.trainer.system.blas_layout import (
    BLAS_NAME,
    LAPACK_NAME,
    MKL_FILES,
    fake_mkl,
    fake_openblas,
    fake_site,
    snapshot,
)


def test_mkl_links_both_libraries_and_its_companions(tmp_path: Path) -> None:
    site, runtime = fake_site(tmp_path), fake_mkl(tmp_path)
    libs = site / "mlx_cpu.libs"
    original = snapshot(libs)

    report = link_blas(site, candidate_for(runtime))
    assert [a.action for a in report.actions] == ["linked", "linked"]
    assert (libs / BLAS_NAME).resolve() == runtime and (libs / LAPACK_NAME).resolve() == runtime
    assert all((libs / name).resolve() == runtime.with_name(name) for name in MKL_FILES)
    assert (report.companions_added, report.companions_removed) == (len(MKL_FILES), 0)
    assert report.lines()[-1] == f"companion libraries beside them: {len(MKL_FILES)} linked, 0 removed"
    assert (libs / f"{BLAS_NAME}.reference").read_bytes() == b"reference blas"
    assert detect_blas(site_packages=site, environ={}).kind == "mkl"
    linked = snapshot(libs)

    again = link_blas(site, candidate_for(runtime))
    assert [a.action for a in again.actions] == ["unchanged", "unchanged"] and again.lines()[-1].startswith("already")
    assert snapshot(libs) == linked

    reverted = revert_blas(site)
    assert [a.action for a in reverted.actions] == ["restored", "restored"]
    assert reverted.companions_removed == len(MKL_FILES) and snapshot(libs) == original
    assert [a.action for a in revert_blas(site).actions] == ["not-linked", "not-linked"] and snapshot(libs) == original


def test_switching_between_libraries(tmp_path: Path) -> None:
    site, runtime = fake_site(tmp_path), fake_mkl(tmp_path)
    libs = site / "mlx_cpu.libs"
    link_blas(site, candidate_for(runtime))
    # OpenBLAS without its LAPACK: MKL's companions go, and the wheel's LAPACK comes back (it calls OpenBLAS).
    blas = fake_openblas(tmp_path, lapack=False)
    report = link_blas(site, candidate_for(blas))
    assert [a.action for a in report.actions] == ["relinked", "restored"]
    assert report.companions_removed == len(MKL_FILES)
    assert (libs / BLAS_NAME).resolve() == blas and (libs / LAPACK_NAME).read_bytes() == b"reference lapack"
    assert not [p for p in libs.iterdir() if p.is_symlink() and p.name != BLAS_NAME]
    assert detect_blas(site_packages=site, environ={}).kind == "openblas"


def test_reinstalled_wheel_and_a_companion_name_the_wheel_ships(tmp_path: Path) -> None:
    site, runtime = fake_site(tmp_path), fake_mkl(tmp_path)
    libs = site / "mlx_cpu.libs"
    (libs / "libiomp5.so").write_bytes(b"the wheel's own")
    link_blas(site, candidate_for(runtime))
    assert not (libs / "libiomp5.so").is_symlink()  # never shadowed
    # pip reinstalls the wheel: a plain file again, and our stale reference copy still there.
    (libs / BLAS_NAME).unlink()
    (libs / BLAS_NAME).write_bytes(b"reference blas v2")
    assert link_blas(site, candidate_for(runtime)).actions[0].action == "linked"
    assert (libs / f"{BLAS_NAME}.reference").read_bytes() == b"reference blas v2"
    revert_blas(site)
    assert (libs / BLAS_NAME).read_bytes() == b"reference blas v2"
    assert (libs / "libiomp5.so").read_bytes() == b"the wheel's own"
