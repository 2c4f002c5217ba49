"""This host as the tests see it: the repository's root and free local TCP ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_bounded(argv: list[str], timeout_s: float, grace_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run a command (a bench that starts a whole stack) in its own process group; past `timeout_s` it gets a
    SIGTERM (it stops what it started), then after `grace_s` the group a SIGKILL. Never leaves it running."""
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        raise AssertionError(f"{' '.join(argv)} ran past {timeout_s} s and was stopped:\n{out}\n{err}") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def stack_processes(data_dir: Path) -> list[int]:
    """The pids of every process of the stack whose data folder is `data_dir`."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "environ"]):
        try:
            env = proc.info["environ"] or {}
            if env.get("DISTRUST_DATA_DIR") == str(data_dir) or str(data_dir) in " ".join(proc.info["cmdline"] or []):
                found.append(proc.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return found
