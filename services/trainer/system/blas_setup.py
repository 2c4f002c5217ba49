"""Give MLX an optimised BLAS: keep a healthy link, else time the candidates, choose one and link it.

`scripts/use_fast_blas.py` (run by `make install`, `make up` and `make test`) is the command-line face of this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.trainer.system.blas import BUNDLED_DIR, BlasInfo, detect_blas
from services.trainer.system.blas_candidates import BlasCandidate, CandidateKind, choose
from services.trainer.system.blas_link import LinkReport, link_blas, revert_blas
from services.trainer.system.blas_timing import MatmulTiming, time_matmul
from shared.errors import ConfigError

logger = logging.getLogger(__name__)
Timer = Callable[..., MatmulTiming]
ROUNDS = 2  # interleaved, best kept: another process's burst on a busy machine rarely hits both


@dataclass(frozen=True)
class SetupResult:
    """What `set_up_blas` found, measured, chose and changed."""

    before: BlasInfo
    after: BlasInfo
    chosen: BlasCandidate | None = None
    timings_ms: dict[CandidateKind, float] = field(default_factory=dict)  # each candidate preloaded, best round
    failures: dict[CandidateKind, str] = field(default_factory=dict)  # candidates whose probe failed, and why
    report: LinkReport | None = None
    linked_ms: float | None = None  # through the link: what every process of the environment now gets

    def lines(self) -> list[str]:
        lines = [
            f"{kind} (preloaded): {ms:.1f} ms per float32 1024x1024 matmul" for kind, ms in self.timings_ms.items()
        ]
        lines += [f"{kind}: not usable: {why}" for kind, why in self.failures.items()]
        if self.chosen is not None:
            lines.append(f"chose {self.chosen.describe()}")
        lines += self.report.lines() if self.report else []
        if self.linked_ms is not None:
            lines.append(f"through the link: {self.linked_ms:.1f} ms per float32 1024x1024 matmul")
        return [*lines, self.after.describe()]


def healthy_link(site_packages: Path, info: BlasInfo) -> bool:
    """Whether the bundled BLAS already links a library (ours or the user's `--blas`) and no link dangles."""
    if not (info.bundled_kind in ("mkl", "openblas", "other") and info.target and Path(info.target).is_file()):
        return False
    return all(p.exists() for p in (site_packages / BUNDLED_DIR).iterdir() if p.is_symlink())


def measure(
    site_packages: Path, candidates: Sequence[BlasCandidate], timer: Timer = time_matmul, rounds: int = ROUNDS
) -> tuple[dict[CandidateKind, float], dict[CandidateKind, str]]:
    """Time each candidate preloaded in a child process, rounds interleaved, best kept; a failing one is reported."""
    timings: dict[CandidateKind, float] = {}
    failures: dict[CandidateKind, str] = {}
    for _ in range(rounds):
        for candidate in (c for c in candidates if c.kind not in failures):
            preload = [candidate.blas] + ([candidate.lapack] if candidate.lapack not in (None, candidate.blas) else [])
            try:
                ms = timer(site_packages, preload=[p for p in preload if p]).ms
            except (ConfigError, OSError) as exc:
                failures[candidate.kind] = str(exc)
                continue
            timings[candidate.kind] = min(ms, timings.get(candidate.kind, ms))
    return timings, failures


def set_up_blas(
    site_packages: Path,
    candidates: Sequence[BlasCandidate],
    *,
    timed: bool = False,
    force: bool = False,
    timer: Timer | None = time_matmul,
) -> SetupResult:
    """Link the first candidate (`timed`: the clearly fastest) unless a healthy link is there; revert a dangling one.

    Untimed by default: on a busy machine two libraries of similar speed measured 27 vs 35 ms, then 34 vs 23 ms a
    minute later, so a timed choice flips between installs while the documented order does not. `force` relinks.

    `timer` None links untimed and unchecked (a layout without a loadable mlx, in tests).
    """
    before = detect_blas(site_packages=site_packages, environ={})
    if not force and healthy_link(site_packages, before):
        return SetupResult(before, before)
    timings, failures = (
        measure(site_packages, candidates, timer) if timer and timed and len(candidates) > 1 else ({}, {})
    )
    usable = [c for c in candidates if c.kind not in failures]
    chosen = choose(usable, timings)
    if chosen is None:
        # With nothing to link, a link to a removed library would stop mlx from loading at all.
        report = revert_blas(site_packages) if before.target and not Path(before.target).is_file() else None
        after = detect_blas(site_packages=site_packages, environ={})
        return SetupResult(before, after, None, timings, failures, report)
    report = None
    for candidate in [chosen, *(c for c in usable if c is not chosen)]:  # the next one if a link fails its check
        report, verified = link_and_verify(site_packages, candidate, timer)
        if isinstance(verified, str):
            failures[candidate.kind] = verified
            continue
        after = detect_blas(site_packages=site_packages, environ={})
        return SetupResult(before, after, candidate, timings, failures, report, verified)
    return SetupResult(before, detect_blas(site_packages=site_packages, environ={}), None, timings, failures, report)


def link_and_verify(
    site_packages: Path, chosen: BlasCandidate, timer: Timer | None
) -> tuple[LinkReport, float | str | None]:
    """Link `chosen` and time a matmul through the link; on failure put the wheel's files back and say why."""
    report = link_blas(site_packages, chosen)
    if timer is None:
        return report, None
    try:
        timing = timer(site_packages)
    except (ConfigError, OSError) as exc:
        revert_blas(site_packages)
        logger.warning("%s linked but unusable, reverted: %s", chosen.describe(), exc)
        return report, f"linked, but mlx failed with it, so the wheel's files are back: {exc}"
    logger.info("linked %s: %.1f ms per matmul", chosen.describe(), timing.ms)
    return report, timing.ms
