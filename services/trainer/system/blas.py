"""Which BLAS MLX's CPU backend multiplies matrices with.

On Linux the `mlx[cpu]` wheel bundles Netlib's reference BLAS as `mlx_cpu.libs/libblas-<hash>.so*`, which
`mlx/lib/libmlx.so` loads by that exact name. It is roughly 30x slower than an optimised BLAS on a float32
matmul. `scripts/use_fast_blas.py` (run by `make install`) points that file at PyPI's MKL or Debian's OpenBLAS,
which every process of the environment then loads; an `LD_PRELOAD` of either also wins. On macOS MLX uses
Accelerate and the GPU.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.schemas.blas_kind import BlasKind

BUNDLED_DIR = "mlx_cpu.libs"
REFERENCE_SUFFIX = ".reference"  # the wheel's own file, kept aside while the bundled name is a symlink
FIX_HINT = (
    "run `make install` (it links PyPI's mkl, a dependency of the trainer and inference extras on x86_64; on arm64 "
    "`apt-get install libopenblas0-pthread` first), or `python scripts/use_fast_blas.py` with this environment's python"
)

OPTIMISED: tuple[BlasKind, ...] = ("mkl", "openblas", "accelerate")
NAMES: dict[BlasKind, str] = {"mkl": "Intel MKL", "openblas": "OpenBLAS"}


@dataclass(frozen=True)
class BlasInfo:
    """Which BLAS library MLX's CPU backend loads on this machine, and why."""

    os: str
    bundled: str | None  # the bundled libblas path MLX loads (maybe a symlink); None when absent
    bundled_kind: BlasKind  # what that file is: the wheel's reference BLAS, MKL, OpenBLAS, ...
    target: str | None  # where the bundled path resolves to when it is a symlink
    preloaded: str | None  # an optimised BLAS named in LD_PRELOAD, which wins over the bundled file

    @property
    def kind(self) -> BlasKind:
        """The BLAS that actually runs."""
        return kind_of(self.preloaded) if self.preloaded else self.bundled_kind

    @property
    def optimised(self) -> bool:
        return self.kind in OPTIMISED

    def describe(self) -> str:
        if self.kind == "accelerate":
            return "BLAS: Accelerate (Metal/AMX)"
        if self.preloaded:
            return f"BLAS: {NAMES.get(self.kind, self.kind)} via LD_PRELOAD ({self.preloaded})"
        if self.bundled_kind in NAMES:
            return f"BLAS: {NAMES[self.bundled_kind]} ({self.bundled} -> {self.target})"
        if self.bundled_kind == "reference":
            return (
                f"BLAS: the mlx[cpu] wheel's reference BLAS ({self.bundled}), about 30x slower than an "
                f"optimised BLAS on float32 matmuls; to fix it, {FIX_HINT}"
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


def kind_of(path: str) -> BlasKind:
    """What an optimised library is, judged by its folder and name, or those of the file it resolves to."""
    names = " ".join("/".join(Path(p).parts[-2:]) for p in (path, os.path.realpath(path))).lower()
    if "mkl" in names:
        return "mkl"
    return "openblas" if "openblas" in names else "other"


def classify(path: Path) -> BlasKind:
    """What a BLAS file is: a symlink is judged by where it points, a plain bundled file is the reference."""
    if not path.is_symlink():
        return "reference" if path.is_file() else "unknown"
    return kind_of(str(path.resolve()))


def preloaded_blas(environ: Mapping[str, str]) -> str | None:
    """The LD_PRELOAD entry that is MKL or OpenBLAS (by name or by where it resolves), or None."""
    for entry in environ.get("LD_PRELOAD", "").replace(":", " ").split():
        if kind_of(entry) != "other":
            return entry
    return None


def detect_blas(
    *, site_packages: Path | None = None, system: str | None = None, environ: Mapping[str, str] | None = None
) -> BlasInfo:
    """The BLAS MLX uses here; `site_packages`, `system` and `environ` replace the real ones in tests."""
    system = (system or platform.system()).lower()
    if system == "darwin":
        return BlasInfo(os=system, bundled=None, bundled_kind="accelerate", target=None, preloaded=None)
    preloaded = preloaded_blas(os.environ if environ is None else environ)
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


def log_blas(logger: logging.Logger, info: BlasInfo | None = None) -> BlasInfo:
    """Log the BLAS in use at start-up: a warning with the fix on the reference BLAS, else info."""
    info = info or detect_blas()
    if info.kind == "reference":
        logger.warning("slow CPU matmuls: %s", info.describe(), extra={"blas": info.kind})
    else:
        logger.info(info.describe(), extra={"blas": info.kind})
    return info
