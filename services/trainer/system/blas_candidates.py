"""The optimised BLAS libraries MLX could use here, and which one to link.

Two sources, in this documented order: PyPI's `mkl` (a dependency of the trainer and inference extras on Linux
x86_64, so every install has it and CI tests with it), then Debian's OpenBLAS when the user installed it. When
they are timed (`--fastest`), the other wins only if it is clearly faster (`MARGIN`): the two are of similar
speed, and timings on a busy machine vary more than they differ.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.trainer.system.blas import NAMES, kind_of

CandidateKind = Literal["mkl", "openblas"]
KINDS: tuple[CandidateKind, ...] = ("mkl", "openblas")
# Debian / Ubuntu OpenBLAS builds (pthread first: MLX runs its own threads, OpenMP would oversubscribe).
OPENBLAS_DIRS: tuple[str, ...] = tuple(
    f"/usr/lib/{arch}-linux-gnu/openblas-{variant}"
    for arch in ("x86_64", "aarch64")
    for variant in ("pthread", "openmp", "serial")
)
MKL_RUNTIME = re.compile(r"^libmkl_rt\.so\.\d+$")
# libmkl_rt opens its core, threading and CPU-kernel libraries (and Intel OpenMP / TBB) from the folder it was
# loaded from, which is mlx_cpu.libs once linked there: these are linked beside it.
MKL_COMPANION = re.compile(r"^lib(mkl_\w+|iomp5|tbb\w*)\.so(\.\d+)*$")
MARGIN = 1.25


@dataclass(frozen=True)
class BlasCandidate:
    """An optimised BLAS and what the wheel's bundled libraries should point at to use it."""

    kind: CandidateKind
    blas: Path  # what the bundled libblas links to
    lapack: Path | None  # what the bundled liblapack links to; None keeps the wheel's (it calls the new BLAS)
    companions: tuple[Path, ...] = ()  # libraries linked beside them, found there by `blas` at run time

    @property
    def name(self) -> str:
        return NAMES[self.kind]

    def describe(self) -> str:
        return f"{self.name} ({self.blas})"


def mkl_candidate(runtime: Path) -> BlasCandidate:
    """MKL's single dynamic library stands in for both BLAS and LAPACK; its siblings go beside it."""
    companions = tuple(
        sorted(p for p in runtime.parent.iterdir() if MKL_COMPANION.match(p.name) and p.is_file() and p != runtime)
    )
    return BlasCandidate("mkl", runtime, runtime, companions)


def openblas_candidate(blas: Path) -> BlasCandidate:
    """An OpenBLAS `libblas.so.3`, with the `liblapack.so.3` beside it when installed."""
    lapack = blas.with_name("liblapack.so.3")
    return BlasCandidate("openblas", blas, lapack if lapack.is_file() else None)


def candidate_for(library: Path) -> BlasCandidate:
    """The candidate for a library the user names: MKL by its name, anything else as an OpenBLAS-like libblas."""
    return mkl_candidate(library) if kind_of(str(library)) == "mkl" else openblas_candidate(library)


def pypi_mkl_runtime(distribution: str = "mkl") -> Path | None:
    """PyPI's `libmkl_rt.so.N` installed in this environment (in `<prefix>/lib`), or None."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if MKL_RUNTIME.match(Path(str(file)).name):
            path = Path(str(file.locate())).resolve()
            if path.is_file():
                return path
    return None


def debian_openblas(dirs: Sequence[str] = OPENBLAS_DIRS) -> list[Path]:
    """Installed Debian OpenBLAS `libblas.so.3` files, best first (this machine's, pthread, OpenMP, serial)."""
    machine = platform.machine()
    found = [Path(d) / "libblas.so.3" for d in dirs if (Path(d) / "libblas.so.3").is_file()]
    return sorted(found, key=lambda p: machine not in str(p))


def find_candidates(
    *,
    mkl_runtime: Path | None,
    openblas: Sequence[Path],
    only: Collection[CandidateKind] = KINDS,
) -> list[BlasCandidate]:
    """The candidates that exist, in the documented order; `only` hides the others (e.g. Debian's, in tests)."""
    found: list[BlasCandidate] = []
    if "mkl" in only and mkl_runtime is not None:
        found.append(mkl_candidate(mkl_runtime))
    if "openblas" in only and openblas:
        found.append(openblas_candidate(openblas[0]))
    return found


def installed_candidates(only: Collection[CandidateKind] = KINDS) -> list[BlasCandidate]:
    """The candidates installed on this machine and in this environment, in the documented order."""
    return find_candidates(mkl_runtime=pypi_mkl_runtime(), openblas=debian_openblas(), only=only)


def choose(
    candidates: Sequence[BlasCandidate], timings_ms: Mapping[CandidateKind, float] | None = None
) -> BlasCandidate | None:
    """The first candidate, unless a timed one is `MARGIN` times faster (or the first could not be timed)."""
    if not candidates:
        return None
    preferred = candidates[0]
    timed = [c for c in candidates if timings_ms and c.kind in timings_ms]
    if not timings_ms or not timed:
        return preferred
    fastest = min(timed, key=lambda c: timings_ms[c.kind])
    if preferred.kind not in timings_ms or timings_ms[fastest.kind] * MARGIN < timings_ms[preferred.kind]:
        return fastest
    return preferred
