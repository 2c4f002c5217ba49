"""bench/load.py as CI runs it: chats and reads at concurrency with no error, 429s only for the limited key."""

from __future__ import annotations

import sys

import pytest

from tests.helpers.host import run_bounded

pytestmark = pytest.mark.slow


def test_load_has_no_errors_and_limits_only_the_limited_key() -> None:
    run = run_bounded([sys.executable, "bench/load.py"], timeout_s=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    figures = dict(word.split("=", 1) for word in run.stdout.strip().splitlines()[-1].split())
    assert figures["errors"] == "0" and figures["other_429"] == "0" and int(figures["limited_429"]) > 0, figures
    assert float(figures["chat_p99_s"]) > 0 and float(figures["reads_p99_s"]) > 0
