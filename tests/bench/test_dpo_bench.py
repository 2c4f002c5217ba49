"""bench/dpo.py on the tiny model: both sides train the same pairs and report a ratio."""

from __future__ import annotations

import sys

import pytest

from tests.helpers.host import run_bounded

pytestmark = pytest.mark.slow


def test_the_dpo_bench_runs_both_sides_on_the_same_pairs() -> None:
    command = [sys.executable, "bench/dpo.py", "--steps", "4", "--warmup", "1", "--rounds", "1", "--answer-len", "16"]
    run = run_bounded(command, timeout_s=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    lines = run.stdout.strip().splitlines()
    assert lines[-1].startswith("ratio=") and float(lines[-1].removeprefix("ratio=")) > 0
    assert any(line.startswith("mlx-lm-lora") for line in lines) and any(line.startswith("ours") for line in lines)
