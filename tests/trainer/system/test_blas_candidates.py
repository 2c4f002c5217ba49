"""Which optimised BLAS is chosen, given which exist and how fast each measured."""

from __future__ import annotations

import platform
from pathlib import Path

from services.trainer.system.blas_candidates import (
    BlasCandidate,
    candidate_for,
    choose,
    debian_openblas,
    find_candidates,
    pypi_mkl_runtime,
)
from tests.trainer.system.blas_layout import DEBIAN_OPENBLAS, MKL_FILES, PYPI_MKL, fake_mkl, fake_openblas


def test_mkl_candidate_links_its_companions_not_other_files(tmp_path: Path) -> None:
    runtime = fake_mkl(tmp_path)
    (mkl,) = find_candidates(mkl_runtime=runtime, openblas=[])
    assert (mkl.kind, mkl.blas, mkl.lapack, mkl.name) == ("mkl", runtime, runtime, "Intel MKL")
    assert sorted(p.name for p in mkl.companions) == sorted(MKL_FILES)  # no .a, .dbg, libpython, nor itself
    assert candidate_for(runtime) == mkl


def test_openblas_candidate_with_and_without_lapack(tmp_path: Path) -> None:
    blas = fake_openblas(tmp_path)
    (openblas,) = find_candidates(mkl_runtime=None, openblas=[blas])
    assert openblas == BlasCandidate("openblas", blas, blas.with_name("liblapack.so.3"))
    no_lapack = fake_openblas(tmp_path / "other", lapack=False)
    assert candidate_for(no_lapack) == BlasCandidate("openblas", no_lapack, None)


def test_which_exist_in_the_documented_order(tmp_path: Path) -> None:
    runtime, blas = fake_mkl(tmp_path), fake_openblas(tmp_path)
    assert find_candidates(mkl_runtime=None, openblas=[]) == []
    assert [c.kind for c in find_candidates(mkl_runtime=runtime, openblas=[blas])] == ["mkl", "openblas"]
    # A fresh machine, simulated on one that has Debian's OpenBLAS: only PyPI's MKL is considered.
    assert [c.kind for c in find_candidates(mkl_runtime=runtime, openblas=[blas], only=["mkl"])] == ["mkl"]
    assert [c.kind for c in find_candidates(mkl_runtime=runtime, openblas=[blas], only=["openblas"])] == ["openblas"]


def test_choose(tmp_path: Path) -> None:
    both = find_candidates(mkl_runtime=fake_mkl(tmp_path), openblas=[fake_openblas(tmp_path)])
    mkl, openblas = both
    assert choose([]) is None
    assert choose(both) is mkl and choose([openblas]) is openblas  # untimed: the documented order
    assert choose(both, {"mkl": 12.6, "openblas": 11.0}) is mkl  # within the margin: no flip-flopping
    assert choose(both, {"mkl": 30.0, "openblas": 11.0}) is openblas  # clearly faster
    assert choose(both, {"openblas": 11.0}) is openblas  # MKL could not be timed
    assert choose(both, {"mkl": 400.0}) is mkl


def test_installed_libraries_are_found(tmp_path: Path) -> None:
    blas = fake_openblas(tmp_path)
    serial = tmp_path / "usr/lib/x86_64-linux-gnu/openblas-serial"
    serial.mkdir()
    assert debian_openblas((str(blas.parent), str(serial), str(tmp_path / "absent"))) == [blas]
    assert all(p.is_file() and "openblas" in str(p) for p in DEBIAN_OPENBLAS)
    debian = Path("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3")
    if platform.machine() == "x86_64" and debian.is_file():
        assert DEBIAN_OPENBLAS[0] == debian
    assert pypi_mkl_runtime("no-such-distribution-here") is None
    assert PYPI_MKL is None or (PYPI_MKL.is_file() and PYPI_MKL.name.startswith("libmkl_rt.so."))
