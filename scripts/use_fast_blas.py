"""Give MLX's CPU backend an optimised BLAS instead of the reference BLAS bundled in the mlx[cpu] wheel (Linux).

    python scripts/use_fast_blas.py              # keep a healthy link, else link PyPI's MKL or Debian's OpenBLAS
    python scripts/use_fast_blas.py --fastest    # time both and link the faster (MKL unless clearly slower)
    python scripts/use_fast_blas.py --only mkl   # consider only these libraries (mkl, openblas)
    python scripts/use_fast_blas.py --blas PATH  # link this library (a libmkl_rt.so.N or an OpenBLAS libblas.so.3)
    python scripts/use_fast_blas.py --revert     # put the wheel's own libraries back
    python scripts/use_fast_blas.py --check      # say which BLAS MLX uses; change nothing
    python scripts/use_fast_blas.py --benchmark  # also time a float32 1024x1024 matmul before and after

The bundled files are replaced by symlinks (the originals kept as `<name>.reference`), so every process of this
environment, worker subprocesses included, gets the library without LD_PRELOAD. MKL comes first (every install
has it, so users and CI run the same BLAS), Debian's OpenBLAS second; `--fastest` times both instead. Each link is
checked with a real matmul. Safe to run again: a healthy link is left alone (`--force` relinks). Run it with the
environment's own python, or pass --site-packages.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--site-packages",
        type=Path,
        help="the site-packages holding mlx and mlx_cpu.libs (default: the one this python imports mlx from)",
    )
    parser.add_argument("--blas", type=Path, help="link this library instead of choosing one")
    parser.add_argument(
        "--only", action="append", choices=["mkl", "openblas"], help="consider only these libraries (repeatable)"
    )
    parser.add_argument(
        "--fastest", action="store_true", help="time each library and take MKL unless another is clearly faster"
    )
    parser.add_argument("--force", action="store_true", help="choose and link again even if a healthy link is there")
    parser.add_argument(
        "--no-verify", action="store_true", help="link without timing or checking a matmul (a layout without mlx)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--revert", action="store_true", help="restore the wheel's own libraries")
    mode.add_argument("--check", action="store_true", help="only report which BLAS MLX uses")
    parser.add_argument("--benchmark", action="store_true", help="time a matmul before and after")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))  # run as a file, not as part of the package
    from services.trainer.system import blas, blas_candidates
    from services.trainer.system.blas_link import revert_blas
    from services.trainer.system.blas_setup import set_up_blas
    from services.trainer.system.blas_timing import time_matmul
    from shared.errors import ConfigError

    args = parse(argv)
    if platform.system() != "Linux":
        print(f"nothing to do on {platform.system()}: MLX uses Accelerate and Metal there")
        return 0
    site_packages = args.site_packages or blas.mlx_site_packages()
    if site_packages is None:  # a host without MLX (a gateway-only image): nothing to link
        print("nothing to do: mlx is not installed for this python (pass --site-packages to point at one)")
        return 0
    if not blas.bundled_libraries(site_packages, "libblas"):
        print(f"nothing to do: no bundled libblas in {site_packages / blas.BUNDLED_DIR} (not the mlx[cpu] wheel)")
        return 0 if args.site_packages is None else 1
    if args.check:
        print(blas.detect_blas(site_packages=site_packages).describe())
        return 0
    if args.blas is not None and not args.blas.is_file():
        print(f"--blas {args.blas}: no such file", file=sys.stderr)
        return 1

    before = time_matmul(site_packages) if args.benchmark else None
    try:
        if args.revert:
            lines = revert_blas(site_packages).lines() + [blas.detect_blas(site_packages=site_packages).describe()]
        else:
            candidates = (
                [blas_candidates.candidate_for(args.blas)]
                if args.blas
                else blas_candidates.installed_candidates(args.only or blas_candidates.KINDS)
            )
            result = set_up_blas(
                site_packages,
                candidates,
                timed=args.fastest,
                force=args.force or args.blas is not None,
                timer=None if args.no_verify else time_matmul,
            )
            lines = result.lines()
            if not candidates:
                lines.append(f"no optimised BLAS found; to fix it, {blas.FIX_HINT}")
    except (OSError, ConfigError) as exc:
        print(f"cannot change {site_packages / blas.BUNDLED_DIR}: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    if before is not None:
        after = time_matmul(site_packages)
        print(f"float32 1024x1024 matmul: {before.ms:.1f} ms before, {after.ms:.1f} ms after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
