"""Which BLAS MLX's CPU backend multiplies matrices with.

On Linux the `mlx[cpu]` wheel bundles Netlib's reference BLAS as `mlx_cpu.libs/libblas-<hash>.so*`, which
`mlx/lib/libmlx.so` loads by that exact name. It is roughly 30x slower than OpenBLAS on a float32 matmul. Two
ways to get OpenBLAS: point that file at Debian's OpenBLAS (`scripts/use_openblas.py`, seen by every
subprocess) or preload one with `LD_PRELOAD`. On macOS MLX uses Accelerate and the GPU.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BUNDLED_DIR = "mlx_cpu.libs"
REFERENCE_SUFFIX = ".reference"  # the wheel's own file, kept aside while the bundled name is a symlink
INSTALL_HINT = "apt-get install libopenblas0-pthread"
# Debian / Ubuntu OpenBLAS builds (pthread first: MLX runs its own threads, OpenMP would oversubscribe).
OPENBLAS_DIRS: tuple[str, ...] = tuple(
    f"/usr/lib/{arch}-linux-gnu/openblas-{variant}"
    for arch in ("x86_64", "aarch64")
    for variant in ("pthread", "openmp", "serial")
)

BlasKind = Literal["reference", "openblas", "accelerate", "other", "unknown"]


@dataclass(frozen=True)
class BlasInfo:
    """Which BLAS library MLX's CPU backend loads on this machine, and why."""

    os: str
    bundled: str | None  # the bundled libblas path MLX loads (maybe a symlink); None when absent
    bundled_kind: BlasKind  # what that file is: the wheel's reference BLAS, OpenBLAS, ...
    target: str | None  # where the bundled path resolves to when it is a symlink
    preloaded: str | None  # an OpenBLAS named in LD_PRELOAD, which wins over the bundled file

    @property
    def kind(self) -> BlasKind:
        """The BLAS that actually runs."""
        return "openblas" if self.preloaded else self.bundled_kind

    @property
    def optimised(self) -> bool:
        return self.kind in ("openblas", "accelerate")

    def describe(self) -> str:
        if self.kind == "accelerate":
            return "BLAS: Accelerate (Metal/AMX)"
        if self.preloaded:
            return f"BLAS: OpenBLAS via LD_PRELOAD ({self.preloaded})"
        if self.bundled_kind == "openblas":
            return f"BLAS: OpenBLAS ({self.bundled} -> {self.target})"
        if self.bundled_kind == "reference":
            return (
                f"BLAS: the mlx[cpu] wheel's reference BLAS ({self.bundled}), about 30x slower than "
                f"OpenBLAS; install it ({INSTALL_HINT}) and run scripts/use_openblas.py"
            )
        if self.bundled_kind == "other":
            return f"BLAS: {self.target} (linked in place of {self.bundled})"
        return "BLAS: unknown (no mlx_cpu.libs next to mlx: not the mlx[cpu] wheel)"


def mlx_site_packages() -> Path | None:
    """The site-packages folder holding the `mlx` package, found without importing (and loading) it."""
    spec = importlib.util.find_spec("mlx")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).parent


def bundled_libraries(site_packages: Path, stem: str) -> list[Path]:
    """The wheel's bundled `<stem>-<hash>.so*` files (symlinks included, set-aside originals excluded)."""
    folder = site_packages / BUNDLED_DIR
    return sorted(
        p
        for p in folder.glob(f"{stem}-*.so*")
        if not p.name.endswith(REFERENCE_SUFFIX) and (p.is_file() or p.is_symlink())
    )


def classify(path: Path) -> BlasKind:
    """What a BLAS file is: a symlink is judged by where it points, a plain bundled file is the reference."""
    if not path.is_symlink():
        return "reference" if path.is_file() else "unknown"
    resolved = str(path.resolve()).lower()
    return "openblas" if "openblas" in resolved else "other"


def preloaded_openblas(environ: Mapping[str, str]) -> str | None:
    """The LD_PRELOAD entry that is an OpenBLAS (by name or by where it resolves), or None."""
    for entry in environ.get("LD_PRELOAD", "").replace(":", " ").split():
        if "openblas" in entry.lower() or "openblas" in os.path.realpath(entry).lower():
            return entry
    return None


def detect_blas(
    *, site_packages: Path | None = None, system: str | None = None, environ: Mapping[str, str] | None = None
) -> BlasInfo:
    """The BLAS MLX uses here; `site_packages`, `system` and `environ` replace the real ones in tests."""
    system = (system or platform.system()).lower()
    if system == "darwin":
        return BlasInfo(os=system, bundled=None, bundled_kind="accelerate", target=None, preloaded=None)
    preloaded = preloaded_openblas(os.environ if environ is None else environ)
    site_packages = site_packages or mlx_site_packages()
    found = bundled_libraries(site_packages, "libblas") if site_packages else []
    if not found:
        return BlasInfo(os=system, bundled=None, bundled_kind="unknown", target=None, preloaded=preloaded)
    library = found[0]
    return BlasInfo(
        os=system,
        bundled=str(library),
        bundled_kind=classify(library),
        target=str(library.resolve()) if library.is_symlink() else None,
        preloaded=preloaded,
    )


def optimised_blas_candidates(dirs: tuple[str, ...] = OPENBLAS_DIRS) -> list[Path]:
    """Installed OpenBLAS `libblas.so.3` files, best first (pthread builds, then OpenMP, then serial)."""
    machine = platform.machine()
    found = [Path(d) / "libblas.so.3" for d in dirs if (Path(d) / "libblas.so.3").is_file()]
    return sorted(found, key=lambda p: machine not in str(p))
