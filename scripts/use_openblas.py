"""Make MLX's CPU backend use OpenBLAS instead of the reference BLAS bundled in the mlx[cpu] wheel (Linux).

    python scripts/use_openblas.py              # point the bundled libblas/liblapack at Debian's OpenBLAS
    python scripts/use_openblas.py --revert     # put the wheel's own libraries back
    python scripts/use_openblas.py --check      # say which BLAS MLX uses; change nothing
    python scripts/use_openblas.py --benchmark  # also time a float32 1024x1024 matmul before and after

The bundled file is replaced by a symlink (the original kept as `<name>.reference`), so every process of this
environment, worker subprocesses included, gets OpenBLAS without LD_PRELOAD. Safe to run again: it only
changes what is not already linked. Run it with the environment's own python, or pass --site-packages.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BENCHMARK = """
import time
import mlx.core as mx
a = mx.random.normal((1024, 1024)); b = mx.random.normal((1024, 1024)); mx.eval(a, b)
for _ in range(3):
    mx.eval(a @ b)
n, start = 20, time.perf_counter()
for _ in range(n):
    mx.eval(a @ b)
print((time.perf_counter() - start) / n * 1000)
"""


def matmul_ms(site_packages: Path) -> float:
    """Milliseconds per float32 1024x1024 matmul in a fresh interpreter loading mlx from `site_packages`."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site_packages), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", BENCHMARK], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))  # run as a file, not as part of the package
    from services.trainer.system import blas as mlx_blas
    from services.trainer.system.openblas import link_openblas, revert_openblas

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--site-packages",
        type=Path,
        help="the site-packages holding mlx and mlx_cpu.libs (default: the one this python imports mlx from)",
    )
    parser.add_argument(
        "--blas", type=Path, help="OpenBLAS libblas.so.3 to link (default: the first installed Debian OpenBLAS)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--revert", action="store_true", help="restore the wheel's own libraries")
    mode.add_argument("--check", action="store_true", help="only report which BLAS MLX uses")
    parser.add_argument("--benchmark", action="store_true", help="time a matmul before and after")
    args = parser.parse_args(argv)

    if platform.system() != "Linux":
        print(f"nothing to do on {platform.system()}: MLX uses Accelerate and Metal there")
        return 0
    site_packages = args.site_packages or mlx_blas.mlx_site_packages()
    if site_packages is None:
        print(
            "mlx is not installed in this environment; run this script with the environment's python "
            "or pass --site-packages",
            file=sys.stderr,
        )
        return 1
    if not mlx_blas.bundled_libraries(site_packages, "libblas"):
        print(
            f"nothing to do: no bundled libblas in {site_packages / 'mlx_cpu.libs'} "
            f"(mlx was not installed from the mlx[cpu] wheel)"
        )
        return 0 if args.site_packages is None else 1
    if args.check:
        print(mlx_blas.detect_blas(site_packages=site_packages).describe())
        return 0

    blas = args.blas
    if not args.revert and blas is None:
        candidates = mlx_blas.optimised_blas_candidates()
        if not candidates:
            print(f"nothing to do: no OpenBLAS installed; install it with `{mlx_blas.INSTALL_HINT}` and run this again")
            return 0
        blas = candidates[0]
    if blas is not None and not blas.is_file():
        print(f"--blas {blas}: no such file", file=sys.stderr)
        return 1

    before = matmul_ms(site_packages) if args.benchmark else None
    try:
        if args.revert or blas is None:
            actions = revert_openblas(site_packages)
        else:
            actions = link_openblas(site_packages, blas)
    except OSError as exc:
        print(f"cannot change {site_packages / 'mlx_cpu.libs'}: {exc}", file=sys.stderr)
        return 1
    for action in actions:
        print(action.describe())
    print(mlx_blas.detect_blas(site_packages=site_packages, environ={}).describe())
    if before is not None:
        after = matmul_ms(site_packages)
        print(f"float32 1024x1024 matmul: {before:.1f} ms before, {after:.1f} ms after ({before / after:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
