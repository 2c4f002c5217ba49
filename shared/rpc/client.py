"""Client side of the services: channels, call metadata, health checks."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.log import current_context
from shared.rpc.server import MAX_MESSAGE_BYTES
from shared.rpc.status import REQUEST_ID_KEY


def open_channel(target: str) -> grpc.Channel:
    """An insecure gRPC channel to `target` with the project's message size limits and retries."""
    return grpc.insecure_channel(
        target,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.enable_retries", 1),
        ],
    )


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
