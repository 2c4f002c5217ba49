"""A bench killed with SIGTERM (a timeout) still stops the whole stack it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers.host import REPO

pytestmark = pytest.mark.slow

SCRIPT = """
import sys, time
from pathlib import Path
from bench.stack import OurStack
with OurStack(Path(sys.argv[1])):
    print("up", flush=True)
    time.sleep(600)
"""


def _stack_processes(data_dir: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "environ", "cmdline"]):
        try:
            env = proc.info["environ"] or {}
            if env.get("DISTRUST_DATA_DIR") == str(data_dir) or str(data_dir) in " ".join(proc.info["cmdline"] or []):
                found.append(proc.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return found


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
        assert _stack_processes(tmp_path / "data"), "the stack should be running"
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=120) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 30
        while _stack_processes(tmp_path / "data") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _stack_processes(tmp_path / "data") == []
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
