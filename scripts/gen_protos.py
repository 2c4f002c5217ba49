"""Generate the Python gRPC code for every contract in `protos/` into the `shared.pb` package.

python scripts/gen_protos.py          # regenerate shared/pb
python scripts/gen_protos.py --check  # exit 1 when shared/pb does not match protos/ (CI)
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = ROOT / "shared" / "pb"
PACKAGE = "shared.pb"
HEADER = '"""Generated from protos/ by scripts/gen_protos.py. Do not edit."""\n'


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc  # dev-only dependency

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {PROTO_ROOT}")
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # protoc writes absolute imports from the proto package root; make them imports of shared.pb.
    for path in out_dir.rglob("*.py*"):
        text = path.read_text()
        text = re.sub(r"^from distrust\.", f"from {PACKAGE}.distrust.", text, flags=re.M)
        path.write_text(text)
    for directory in [out_dir, *(d for d in out_dir.rglob("*") if d.is_dir())]:
        (directory / "__init__.py").write_text(HEADER)


def differences(a: Path, b: Path) -> list[str]:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    diffs = [f"only in protos output: {p}" for p in sorted(files_a - files_b)]
    diffs += [f"stale file in shared/pb: {p}" for p in sorted(files_b - files_a)]
    diffs += [f"differs: {p}" for p in sorted(files_a & files_b) if not filecmp.cmp(a / p, b / p, shallow=False)]
    return diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if shared/pb is out of date")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pb"
        out.mkdir()
        generate(out)
        if args.check:
            diffs = differences(out, PACKAGE_DIR) if PACKAGE_DIR.exists() else ["shared/pb is missing"]
            for line in diffs:
                print(line, file=sys.stderr)
            if diffs:
                print("shared/pb is out of date: run `make protos`", file=sys.stderr)
                return 1
            print("shared/pb matches protos/")
            return 0
        shutil.rmtree(PACKAGE_DIR, ignore_errors=True)
        shutil.copytree(out, PACKAGE_DIR)
    print(f"generated {PACKAGE_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
