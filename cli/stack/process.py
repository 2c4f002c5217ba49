"""One managed child process: start with its log file, probe until healthy, stop gracefully."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

Probe = Callable[[], None]


@dataclass
class Component:
    """A part of the stack: how to run it and how to tell it is healthy (the probe raises when not)."""

    name: str
    argv: list[str]
    probe: Probe
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    port_setting: str | None = None
    stop_timeout_s: float = 15.0


class ManagedProcess:
    """A component's process: started with its log file, probed, stopped gently then firmly."""

    def __init__(self, component: Component, log_dir: Path) -> None:
        self.component = component
        self.log_path = log_dir / f"{component.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def exit_code(self) -> int | None:
        return self.proc.returncode if self.proc else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        log = os.fdopen(fd, "ab")
        env = {**os.environ, **self.component.env}
        # umask 077: what a part writes (Redis' AOF, objects, logs) is its user's only.
        self.proc = subprocess.Popen(
            self.component.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            umask=0o077,
        )
        log.close()
        logger.info("started", extra={"component": self.component.name, "pid": self.proc.pid})

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> tuple[bool, str]:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            return False, f"not running (exit code {code}); see {self.log_path}"
        try:
            self.component.probe()
        except Exception as exc:
            return False, getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return True, "ok"

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            ok, last = self.healthy()
            if ok:
                return
            if not self.alive():
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.component.name} did not become healthy: {last}\n{self.log_tail()}")

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(self.component.stop_timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("killing after timeout", extra={"component": self.component.name})
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
