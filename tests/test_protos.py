"""The generated package must match the .proto contracts, and the contracts follow their conventions."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers.host import REPO


def test_generated_code_matches_protos() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_contracts_are_versioned_and_enums_start_unspecified() -> None:
    for path in (REPO / "protos").rglob("*.proto"):
        text = path.read_text()
        package = re.search(r"^package ([\w.]+);", text, re.M)
        assert package and re.fullmatch(r"distrust\.\w+\.v\d+", package.group(1)), path
        for enum, body in re.findall(r"enum (\w+) \{(.*?)\}", text, re.S):
            first = re.search(r"(\w+) = (\d+);", body)
            assert first and first.group(1).endswith("_UNSPECIFIED") and first.group(2) == "0", (path, enum)


def test_every_rpc_and_message_is_documented() -> None:
    for path in (REPO / "protos").rglob("*.proto"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith(("rpc ", "service ")):
                assert lines[i - 1].strip().startswith("//"), f"{path.name}:{i + 1} {line.strip()}"
