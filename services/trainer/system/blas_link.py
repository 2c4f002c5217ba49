"""Point the mlx[cpu] wheel's bundled BLAS/LAPACK at an optimised library, and back.

`libmlx.so` loads `mlx_cpu.libs/libblas-<hash>.so*` and `liblapack-<hash>.so*` by name through its RPATH, so
replacing those files with symlinks changes the BLAS of every process using this environment (services, Celery
workers and their children, tests, a user's `python -c 'import mlx.core'`) with no environment variable, no
preload and no import-time cost. The wheel's files are kept as `<name>.reference` so `revert_blas` restores them
exactly. MKL's companions are linked beside them; the wheel ships no symlinks, so every other symlink in the
folder is ours and goes on revert or relink.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.trainer.system.blas import BUNDLED_DIR, REFERENCE_SUFFIX, bundled_libraries
from services.trainer.system.blas_candidates import BlasCandidate

STEMS = ("libblas", "liblapack")
Action = Literal["linked", "relinked", "unchanged", "restored", "not-linked", "no-reference"]


@dataclass(frozen=True)
class LinkAction:
    """What linking did to one bundled library, and what it now points to."""

    library: Path
    action: Action
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
        return f"{self.library} is the wheel's own file: nothing to revert"


@dataclass(frozen=True)
class LinkReport:
    """The bundled libraries' actions and how many companion links were added or removed."""

    actions: list[LinkAction]
    companions_added: int = 0
    companions_removed: int = 0

    def lines(self) -> list[str]:
        lines = [action.describe() for action in self.actions]
        if self.companions_added or self.companions_removed:
            lines.append(
                f"companion libraries beside them: {self.companions_added} linked, {self.companions_removed} removed"
            )
        return lines


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


def restore_library(library: Path) -> LinkAction:
    """Put the wheel's own file back where a symlink stands; idempotent."""
    reference = library.with_name(library.name + REFERENCE_SUFFIX)
    if library.is_symlink() and reference.is_file():
        os.replace(reference, library)
        return LinkAction(library, "restored")
    if library.is_symlink():
        return LinkAction(library, "no-reference", library.resolve())
    return LinkAction(library, "not-linked")


def add_companions(folder: Path, companions: Sequence[Path]) -> int:
    """Link each companion into the folder (relinking a stale link); returns how many changed."""
    changed = 0
    for target in companions:
        link = folder / target.name
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.exists() and not link.is_symlink():
            continue  # never shadow a file the wheel ships
        _symlink(link, target)
        changed += 1
    return changed


def remove_companions(folder: Path, keep: Sequence[Path] = ()) -> int:
    """Remove the folder's symlinks that are neither a bundled library nor in `keep`; returns how many."""
    bundled = {p.name for stem in STEMS for p in bundled_libraries(folder.parent, stem)}
    wanted = {p.name for p in keep}
    stale = [p for p in folder.iterdir() if p.is_symlink() and p.name not in bundled | wanted]
    for link in stale:
        link.unlink()
    return len(stale)


def link_blas(site_packages: Path, candidate: BlasCandidate) -> LinkReport:
    """Point every bundled libblas and liblapack at `candidate` (and its companions beside them); idempotent."""
    folder = site_packages / BUNDLED_DIR
    added = add_companions(folder, candidate.companions)  # first: the new BLAS finds them from its first load
    targets = {"libblas": candidate.blas, "liblapack": candidate.lapack}
    actions: list[LinkAction] = []
    for stem in STEMS:
        for library in bundled_libraries(site_packages, stem):
            target = targets[stem]
            actions.append(link_library(library, target) if target else restore_library(library))
    return LinkReport(actions, added, remove_companions(folder, candidate.companions))


def revert_blas(site_packages: Path) -> LinkReport:
    """Put the wheel's own libraries back and remove the companion links; idempotent."""
    actions = [restore_library(lib) for stem in STEMS for lib in bundled_libraries(site_packages, stem)]
    return LinkReport(actions, 0, remove_companions(site_packages / BUNDLED_DIR))
