"""The effect experiment from end to end, as a user runs it: the stack, two real jobs, one evaluation, effect > 1."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.host import REPO

pytestmark = pytest.mark.slow


def test_weighted_training_moves_the_distrust_ratio_further_than_plain_training() -> None:
    result = subprocess.run(
        [sys.executable, "bench/distrust_effect.py"], cwd=REPO, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    figures = dict(line.split("=", 1) for line in lines if "=" in line and " " not in line)
    assert lines[-1].startswith("effect=")
    assert float(figures["weighted_ratio"]) > float(figures["none_ratio"])
    assert float(figures["effect"]) > 1.0, result.stdout
