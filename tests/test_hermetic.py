"""The suite ignores the user's DISTRUST_* environment (as `eval "$(distrust env)"` leaves it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_users_distrust_environment_is_dropped() -> None:
    assert not [n for n in os.environ if n.startswith("DISTRUST_") and not n.startswith("DISTRUST_TEST_")]


def test_the_users_environment_cannot_reach_a_test() -> None:
    """The check above, in a pytest run started with a user's variables set."""
    env = {**os.environ, "DISTRUST_BASE_URL": "http://127.0.0.1:9", "DISTRUST_API_KEY": "user-key"}
    test = "tests/test_hermetic.py::test_a_users_distrust_environment_is_dropped"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
