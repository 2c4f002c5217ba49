"""`distrust up / down / status` as functions: start the supervisor in the background, stop it, probe parts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from cli.stack import layout
from cli.stack.state import DataDir, StackState, pid_alive
from shared.errors import ConfigError, FailedPrecondition


@dataclass(frozen=True)
class StackInfo:
    """Where a started stack answers, with which key, and how long it took to start."""

    gateway_url: str
    api_key: str
    data_dir: Path
    seconds: float


def data_dir() -> DataDir:
    """The local stack's data folder (DISTRUST_DATA_DIR)."""
    return DataDir(Path(layout.LocalStackSettings().data_dir))


def running_state(data: DataDir) -> StackState | None:
    """The state of the stack when its supervisor is alive."""
    state = data.read_state()
    if state and pid_alive(state.supervisor_pid):
        return state
    return None


def start_background(*, on_wait: Callable[[str], None] = lambda _phase: None) -> StackInfo:
    """Start the supervisor detached and wait until it reports ready (or failed)."""
    local = layout.LocalStackSettings()
    data = DataDir(Path(local.data_dir))
    data.ensure()
    secrets = data.secrets()
    running = running_state(data)
    if running:
        return StackInfo(running.gateway_url, secrets.api_key, data.root, 0.0)
    data.clear_state()
    layout.check_ports_free(layout.Ports.from_env(local))
    started = time.monotonic()
    log = (data.logs / "supervisor.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", "--foreground"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    deadline = started + local.start_timeout_s + 30
    while time.monotonic() < deadline:
        state = data.read_state()
        on_wait(state.phase if state else "starting")
        if state and state.phase == "ready" and state.supervisor_pid == proc.pid:
            return StackInfo(state.gateway_url, secrets.api_key, data.root, time.monotonic() - started)
        if (state and state.phase == "failed") or proc.poll() is not None:
            proc.wait(60)
            error = state.error if state else None
            raise FailedPrecondition(
                f"the stack failed to start: {error or 'see the log'} (logs in {data.logs})",
                code="stack_start_failed",
            )
        time.sleep(0.3)
    stop(data)
    raise FailedPrecondition(
        f"the stack did not become ready within {local.start_timeout_s:.0f} s (logs in {data.logs})",
        code="stack_start_timeout",
    )


def stop(data: DataDir, *, timeout_s: float = 60.0) -> bool:
    """Stop the supervisor and everything it started; return False when nothing was running."""
    state = data.read_state()
    if not state:
        return False
    pid, pgid = state.supervisor_pid, state.pgid
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    leftovers = [c.pid for c in state.components.values() if c.pid is not None and pid_alive(c.pid)]
    if pgid and (pid_alive(pid) or leftovers):
        # The supervisor did not finish in time: take down its whole process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    for child in leftovers:
        if pid_alive(child):
            os.kill(child, signal.SIGKILL)
    data.clear_state()
    return True


@dataclass(frozen=True)
class PartHealth:
    """One part of the stack as probed now."""

    name: str
    healthy: bool
    detail: str
    pid: int | None
    rss_mb: float | None


def component_health(data: DataDir) -> list[PartHealth]:
    """Every part of the stack, probed now, with its process id and resident memory."""
    state = running_state(data)
    if not state:
        raise ConfigError(f"the stack is not running (data folder {data.root}); start it with `distrust up`")
    pids = {name: info.pid for name, info in state.components.items()}
    local = layout.LocalStackSettings()
    secrets = data.secrets()
    ports = layout.Ports.from_env(local)
    rows = []
    for component in layout.infrastructure(data, ports, secrets) + layout.services(data, ports, secrets):
        pid = pids.get(component.name)
        try:
            component.probe()
        except Exception as exc:
            healthy, detail = False, getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        else:
            healthy, detail = True, "ok"
        rows.append(PartHealth(component.name, healthy, detail, pid, _rss_mb(pid)))
    return rows


def _rss_mb(pid: object) -> float | None:
    if not isinstance(pid, int):
        return None
    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    except psutil.Error:
        return None
