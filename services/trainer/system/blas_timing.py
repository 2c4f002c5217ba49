"""Time a float32 1024x1024 matmul in a fresh interpreter, and name the BLAS libraries it mapped.

The figure is the best of several runs, so that other processes on a busy machine change it little. A child
process is needed: a library loads once per process, and a preload (`LD_PRELOAD`) must be set before it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.errors import ConfigError

PROBE = """
import json, time
import mlx.core as mx
a = mx.random.normal((1024, 1024)); b = mx.random.normal((1024, 1024)); mx.eval(a, b)
for _ in range(3):
    mx.eval(a @ b)
best = float("inf")
for _ in range({runs}):
    start = time.perf_counter(); mx.eval(a @ b); best = min(best, time.perf_counter() - start)
words = ("blas", "lapack", "mkl")
paths = {{line.split()[-1] for line in open("/proc/self/maps") if "/" in line}}
libraries = sorted(p for p in paths if any(w in p.rsplit("/", 1)[-1].lower() for w in words))
print(json.dumps({{"ms": best * 1000, "libraries": libraries, "mlx": mx.__file__}}))
"""


@dataclass(frozen=True)
class MatmulTiming:
    """Milliseconds for one float32 1024x1024 matmul (best run) and the BLAS-like libraries mapped."""

    ms: float
    libraries: tuple[str, ...]

    @property
    def reference_mapped(self) -> bool:
        """Whether the wheel's own reference libblas was loaded (then it, or a preload, did the work)."""
        return any("/mlx_cpu.libs/libblas-" in lib for lib in self.libraries)


def time_matmul(
    site_packages: Path | None = None,
    *,
    preload: Sequence[Path] = (),
    python: str = sys.executable,
    runs: int = 10,
    timeout_s: float = 120,
) -> MatmulTiming:
    """Time the matmul with mlx from `site_packages` (default: as `python` finds it) and `preload` first."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    if preload:
        env["LD_PRELOAD"] = " ".join(map(str, preload))
    if site_packages is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site_packages), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [python, "-c", PROBE.format(runs=runs)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout_s,
    )
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"matmul probe failed (preload {list(map(str, preload))}): {tail}", code="blas_probe_failed")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if site_packages is not None and not Path(result["mlx"]).resolve().is_relative_to(site_packages.resolve()):
        raise ConfigError(f"no mlx in {site_packages}: the probe imported {result['mlx']}", code="blas_probe_failed")
    return MatmulTiming(ms=float(result["ms"]), libraries=tuple(result["libraries"]))
