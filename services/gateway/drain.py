"""Shutting down without cutting anyone off.

On SIGTERM the gateway answers new requests 503 (Retry-After) while the requests and streams in flight finish,
then stops (at the latest after `DISTRUST_GATEWAY_DRAIN_TIMEOUT_S`).
"""

from __future__ import annotations

import logging
import threading
import time
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.errors import error_response
from shared.errors import Unavailable

logger = logging.getLogger(__name__)


class Drain:
    """Whether the gateway is draining, and how many requests it is still answering."""

    def __init__(self) -> None:
        self.draining = False
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def enter(self) -> None:
        with self._lock:
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no request is in flight (True), or `timeout_s` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.in_flight


class DrainMiddleware:
    """Counts the requests in flight; while draining, refuses new ones at once with a 503."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            refusal = error_response(
                Unavailable(
                    "The gateway is shutting down; retry (another replica, or this one once restarted)",
                    code="shutting_down",
                )
            )
            refusal.headers["connection"] = "close"
            await refusal(scope, receive, send)
            return
        self.drain.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.leave()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining on the first SIGTERM / SIGINT before it shuts down; a second one stops at once."""

    def __init__(self, config: uvicorn.Config, drain: Drain, timeout_s: float) -> None:
        super().__init__(config)
        self.drain = drain
        self.timeout_s = timeout_s

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.draining:
            super().handle_exit(sig, frame)
            return
        self.drain.draining = True
        logger.info("draining", extra={"in_flight": self.drain.in_flight, "timeout_s": self.timeout_s})

        def finish() -> None:
            idle = self.drain.wait_idle(self.timeout_s)
            logger.info("drained" if idle else "drain timed out", extra={"in_flight": self.drain.in_flight})
            super(DrainingServer, self).handle_exit(sig, frame)

        threading.Thread(target=finish, name="drain", daemon=True).start()
