"""Point the mlx[cpu] wheel's bundled BLAS/LAPACK at an installed OpenBLAS, and back.

`libmlx.so` loads `mlx_cpu.libs/libblas-<hash>.so*` by name through its RPATH, so replacing that file with a
symlink to OpenBLAS changes the BLAS of every process using this environment, subprocesses included, with
no LD_PRELOAD. The wheel's file is kept as `<name>.reference` so `revert_openblas` restores it exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.trainer.system.blas import REFERENCE_SUFFIX, bundled_libraries

STEMS = ("libblas", "liblapack")


@dataclass(frozen=True)
class LinkAction:
    """What linking did to one bundled library, and the OpenBLAS it now points to."""

    library: Path
    action: Literal["linked", "relinked", "unchanged", "restored", "not-linked", "no-reference", "no-target"]
    target: Path | None = None

    def describe(self) -> str:
        if self.action in ("linked", "relinked"):
            return (
                f"{self.action} {self.library} -> {self.target} (original kept as "
                f"{self.library.name}{REFERENCE_SUFFIX})"
            )
        if self.action == "unchanged":
            return f"already linked: {self.library} -> {self.target}"
        if self.action == "restored":
            return f"restored the wheel's {self.library}"
        if self.action == "no-reference":
            return (
                f"left {self.library} -> {self.target}: the original "
                f"{self.library.name}{REFERENCE_SUFFIX} is gone (reinstall mlx to restore it)"
            )
        if self.action == "no-target":
            return f"left {self.library} as it is: no matching OpenBLAS library"
        return f"{self.library} is the wheel's own file: nothing to revert"


def openblas_targets(blas: Path) -> dict[str, Path]:
    """What each bundled library should point at: OpenBLAS's libblas, and its liblapack when installed."""
    targets = {"libblas": blas}
    lapack = blas.with_name("liblapack.so.3")
    if lapack.is_file():
        targets["liblapack"] = lapack
    return targets


def _symlink(library: Path, target: Path) -> None:
    staging = library.with_name(f".{library.name}.linking")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target)
    os.replace(staging, library)  # atomic: a process starting now finds the old file or the link


def link_library(library: Path, target: Path) -> LinkAction:
    """Point `library` at `target`, keeping the wheel's own file as the reference copy beside it."""
    reference = library.with_name(library.name + REFERENCE_SUFFIX)
    if library.is_symlink():
        if library.resolve() == target.resolve():
            return LinkAction(library, "unchanged", target)
        _symlink(library, target)
        return LinkAction(library, "relinked", target)
    # A plain file is the wheel's (a reinstall may have replaced our link): it becomes the reference copy.
    os.replace(library, reference)
    try:
        _symlink(library, target)
    except OSError:
        os.replace(reference, library)
        raise
    return LinkAction(library, "linked", target)


def link_openblas(site_packages: Path, blas: Path) -> list[LinkAction]:
    """Point every bundled libblas (and liblapack when OpenBLAS has one) at OpenBLAS; idempotent."""
    targets = openblas_targets(blas)
    actions: list[LinkAction] = []
    for stem in STEMS:
        for library in bundled_libraries(site_packages, stem):
            target = targets.get(stem)
            actions.append(link_library(library, target) if target else LinkAction(library, "no-target"))
    return actions


def revert_openblas(site_packages: Path) -> list[LinkAction]:
    """Put the wheel's own libraries back where `link_openblas` left symlinks; idempotent."""
    actions: list[LinkAction] = []
    for stem in STEMS:
        for library in bundled_libraries(site_packages, stem):
            reference = library.with_name(library.name + REFERENCE_SUFFIX)
            if library.is_symlink() and reference.is_file():
                os.replace(reference, library)
                actions.append(LinkAction(library, "restored"))
            elif library.is_symlink():
                actions.append(LinkAction(library, "no-reference", library.resolve()))
            else:
                actions.append(LinkAction(library, "not-linked"))
    return actions
