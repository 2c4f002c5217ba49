"""A bench killed with SIGTERM (a timeout) still stops the whole stack it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.host import REPO, stack_processes

pytestmark = pytest.mark.slow

SCRIPT = """
import sys, time
from pathlib import Path
from bench.stack import OurStack
with OurStack(Path(sys.argv[1])):
    print("up", flush=True)
    time.sleep(600)
"""


def test_sigterm_unwinds_the_bench_and_stops_its_stack(tmp_path: Path) -> None:
    bench = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert bench.stdout is not None and bench.stdout.readline().strip() == "up"
        assert stack_processes(tmp_path / "data"), "the stack should be running"
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=120) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 30
        while stack_processes(tmp_path / "data") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert stack_processes(tmp_path / "data") == []
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
