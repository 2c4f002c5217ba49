"""gRPC server bootstrap: health checking, reflection, the error interceptor, graceful shutdown on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from shared.errors import ConfigError
from shared.rpc.status import ErrorInterceptor

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
Registrar = Callable[[grpc.Server], None]


@dataclass
class RunningServer:
    """A started gRPC server, its health servicer and port, and what to run when it stops."""

    server: grpc.Server
    health: health.HealthServicer
    port: int
    service_names: Sequence[str]
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *self.service_names):
            self.health.set(name, status)

    def stop(self, grace_s: float = 10.0) -> None:
        """Report NOT_SERVING, let in-flight calls finish for up to `grace_s`, then stop."""
        self.set_serving(False)
        self.server.stop(grace_s).wait()
        for hook in self.on_stop:
            hook()


def start_server(
    *, host: str, port: int, port_setting: str, register: Registrar, service_names: Sequence[str], max_workers: int = 16
) -> RunningServer:
    """Start a server with the given servicers; a busy port is a `ConfigError` naming the setting to change."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        interceptors=[ErrorInterceptor()],
        options=[
            ("grpc.so_reuseport", 0),  # without this a second server silently shares the port
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    register(server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME), server
    )
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc}); the port is in use or not allowed, "
            f"set {port_setting} to change it",
            param=port_setting,
        ) from exc
    if bound == 0:
        raise ConfigError(
            f"cannot listen on {host}:{port}: the port is in use; set {port_setting} to change it", param=port_setting
        )
    server.start()
    running = RunningServer(server, health_servicer, bound, tuple(service_names))
    running.set_serving(True)
    logger.info("grpc server listening", extra={"address": f"{host}:{bound}", "services": list(service_names)})
    return running


def serve_until_signalled(
    running: RunningServer, *, grace_s: float = 10.0, on_stop: Callable[[], None] | None = None
) -> None:
    """Block until SIGTERM or SIGINT, then shut down gracefully."""
    stop = threading.Event()

    def _handle(signum: int, _frame: object) -> None:
        logger.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
    stop.wait()
    running.stop(grace_s)
    if on_stop:
        on_stop()
    logger.info("stopped")


def run_service(service: str, start: Callable[[], RunningServer], *, on_stop: Callable[[], None] | None = None) -> None:
    """Entry point body of every gRPC service: start, serve until signalled, exit 2 on a configuration error."""
    try:
        running = start()
    except ConfigError as exc:
        logger.error("cannot start %s: %s", service, exc.message, extra={"param": exc.param})
        raise SystemExit(2) from exc
    serve_until_signalled(running, on_stop=on_stop)
