"""bench/distributed.py runs end to end on the tiny model: one rank, two ranks on the ring, the scaling model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.host import REPO

pytestmark = pytest.mark.slow


def test_the_bench_prints_both_runs_and_the_ratio() -> None:
    argv = ["bench/distributed.py", "--model", "distrust-tiny-llama", "--steps", "3", "--batch-size", "4"]
    result = subprocess.run(
        [sys.executable, *argv, "--seq-len", "32", "--warmup", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("1 rank :") for line in lines) and any(line.startswith("2 ranks:") for line in lines)
    assert any(line.strip().startswith("8 ") for line in lines)  # the N = 8 row of the model
    assert lines[-1].startswith("ratio=") and float(lines[-1].removeprefix("ratio=")) > 0
