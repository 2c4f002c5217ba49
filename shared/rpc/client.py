"""Client side of the services: channels, call metadata, health checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.log import current_context
from shared.rpc.server import MAX_MESSAGE_BYTES
from shared.rpc.status import REQUEST_ID_KEY

S = TypeVar("S")
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 1),
    # A restarted service is back in seconds: reconnect within a second, not after gRPC's default backoff
    # (which grows to two minutes and left callers with 503s well after the service was ready again).
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def open_channel(target: str) -> grpc.Channel:
    """An insecure gRPC channel to `target` with the project's message size limits and retries."""
    return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)


class AioChannel:
    """One `grpc.aio` channel to `target` per app, opened on first use in the serving event loop."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._channel: grpc.aio.Channel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stubs: dict[Callable[[grpc.aio.Channel], object], object] = {}

    def stub(self, make: Callable[[grpc.aio.Channel], S]) -> S:
        """The stub `make` builds on this loop's channel (built once per channel)."""
        # An aio channel belongs to the event loop it is made in, which only exists once the app serves (and a
        # TestClient outside `with` runs each request in a new loop).
        loop = asyncio.get_running_loop()
        if self._channel is None or self._loop is not loop:
            self._channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
            self._loop, self._stubs = loop, {}
        if make not in self._stubs:
            self._stubs[make] = make(self._channel)
        return cast(S, self._stubs[make])

    async def close(self) -> None:
        """Close the channel, if one was opened."""
        if self._channel is not None:
            await self._channel.close()
            self._channel, self._loop, self._stubs = None, None, {}


def call_metadata() -> Sequence[tuple[str, str]]:
    """Metadata that carries the current request id to the service, for its logs."""
    request_id = current_context().get("request_id")
    return ((REQUEST_ID_KEY, str(request_id)),) if request_id else ()


def check_health(channel: grpc.Channel, service: str = "", *, timeout_s: float = 2.0) -> str:
    """Return the service's health status name (SERVING, NOT_SERVING, ...) or raise grpc.RpcError."""
    stub = health_pb2_grpc.HealthStub(channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
    name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)  # grpc_health is untyped
    return name


def targets_of(value: str) -> list[str]:
    """A target setting, `host:port[,host:port…]` (one service or its replicas), as a list (duplicates dropped)."""
    return list(dict.fromkeys(t.strip() for t in value.split(",") if t.strip()))
