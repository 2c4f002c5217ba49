"""Runs the whole stack in the foreground: start in order, wait for health, restart crashes, stop on a signal."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from cli.stack import layout
from cli.stack.process import Component, ManagedProcess
from cli.stack.state import ComponentState, DataDir, Phase, StackState
from shared.storage import ObjectStore

logger = logging.getLogger(__name__)

RESTART_LIMIT = 5
RESTART_WINDOW_S = 60.0


class Supervisor:
    """Starts the stack's processes in order, restarts those that crash, and records the stack's state."""

    def __init__(self, local: layout.LocalStackSettings) -> None:
        self.local = local
        self.data = DataDir(Path(local.data_dir))
        self.data.ensure()
        self.secrets = self.data.secrets()
        self.ports = layout.Ports.from_env(local)
        self.processes: list[ManagedProcess] = []
        self.stopping = threading.Event()
        self.restarts: dict[str, list[float]] = {}

    def _state(self, phase: Phase, error: str | None = None) -> StackState:
        return StackState(
            phase=phase,
            error=error,
            supervisor_pid=os.getpid(),
            pgid=os.getpgid(0),
            gateway_url=layout.gateway_url(self.ports),
            started_at=int(time.time()),
            components={
                p.component.name: ComponentState(pid=p.pid, port=p.component.port, log=str(p.log_path))
                for p in self.processes
            },
        )

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        self.data.write_state(self._state("starting"))
        try:
            layout.check_ports_free(self.ports)
            started = time.monotonic()
            self._start_group(layout.infrastructure(self.data, self.ports, self.secrets))
            store = ObjectStore(layout.storage_settings(self.ports, self.secrets))
            store.ensure_buckets()
            self._ensure_default_model(store)
            self._start_group(layout.services(self.data, self.ports, self.secrets))
            logger.info("stack ready", extra={"seconds": round(time.monotonic() - started, 1)})
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc)
            logger.error("stack failed to start: %s", message)
            self.data.write_state(self._state("failed", message))
            self._stop_all()
            return 1
        self.data.write_state(self._state("ready"))
        self._watch()
        self._stop_all()
        self.data.clear_state()
        return 0

    def _ensure_default_model(self, store: ObjectStore) -> None:
        from services.trainer.default_model import ensure_stack_model
        from shared.model_registry import ModelRegistry
        from shared.redis_store import connect
        from shared.settings import RedisSettings

        client = connect(RedisSettings(url=layout.redis_url(self.ports, self.secrets)))
        try:
            record = ensure_stack_model(
                ModelRegistry(client, store), self.data.root / "cache", self.local.default_model
            )
        finally:
            client.close()
        logger.info("default model ready", extra={"model": record.name, "fingerprint": record.fingerprint})

    def _start_group(self, components: list[Component]) -> None:
        group = [ManagedProcess(c, self.data.logs) for c in components]
        for proc in group:
            proc.start()
            self.processes.append(proc)
        self.data.write_state(self._state("starting"))
        deadline = time.monotonic() + self.local.start_timeout_s
        for proc in group:
            if self.stopping.is_set():
                raise RuntimeError("stopped while starting")
            proc.wait_healthy(max(1.0, deadline - time.monotonic()))

    def _watch(self) -> None:
        while not self.stopping.wait(1.0):
            for proc in self.processes:
                if proc.alive():
                    continue
                name = proc.component.name
                recent = [t for t in self.restarts.get(name, []) if time.monotonic() - t < RESTART_WINDOW_S]
                if len(recent) >= RESTART_LIMIT:
                    continue
                logger.warning("restarting crashed component", extra={"component": name, "exit_code": proc.exit_code})
                self.restarts[name] = [*recent, time.monotonic()]
                proc.start()
                self.data.write_state(self._state("ready"))

    def _stop_all(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        logger.info("stack stopped")
