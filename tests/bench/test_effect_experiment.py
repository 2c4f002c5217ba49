"""The effect experiment from end to end, as a user runs it: the stack, two real jobs, one evaluation, effect > 1."""

from __future__ import annotations

import sys

import pytest

from tests.helpers.host import run_bounded

pytestmark = pytest.mark.slow


def test_weighted_training_moves_the_distrust_ratio_further_than_plain_training() -> None:
    result = run_bounded([sys.executable, "bench/distrust_effect.py"], timeout_s=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    figures = dict(line.split("=", 1) for line in lines if "=" in line and " " not in line)
    assert lines[-1].startswith("effect=")
    assert float(figures["weighted_ratio"]) > float(figures["none_ratio"])
    assert float(figures["effect"]) > 1.0, result.stdout
