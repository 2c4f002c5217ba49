"""gRPC plumbing: the error interceptor's mapping both ways, and real service processes over sockets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from shared import errors
from shared.rpc.client import check_health, open_channel
from shared.rpc.server import start_server
from shared.rpc.status import error_from_rpc, grpc_code_for
from tests.helpers.host import REPO, free_port


def _raise_invalid(_request: bytes, _context: grpc.ServicerContext) -> bytes:
    raise errors.invalid_field("documents[3].text", 42, "a string")


def _stream_then_fail(_request: bytes, _context: grpc.ServicerContext) -> Iterator[bytes]:
    yield b"first"
    raise errors.NotFound("No such File object: file-1", param="file_id", code="file_not_found")


def _crash(_request: bytes, _context: grpc.ServicerContext) -> bytes:
    raise ZeroDivisionError("boom")


@pytest.fixture
def test_server() -> Iterator[grpc.Channel]:
    handlers = {
        "Invalid": grpc.unary_unary_rpc_method_handler(_raise_invalid),
        "Stream": grpc.unary_stream_rpc_method_handler(_stream_then_fail),
        "Crash": grpc.unary_unary_rpc_method_handler(_crash),
    }
    running = start_server(
        host="127.0.0.1",
        port=0,
        port_setting="TEST_PORT",
        service_names=["test.Svc"],
        register=lambda s: s.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Svc", handlers),)),
    )
    channel = open_channel(f"127.0.0.1:{running.port}")
    yield channel
    channel.close()
    running.stop(0)


def test_invalid_argument_keeps_field_and_value(test_server: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        test_server.unary_unary("/test.Svc/Invalid")(b"")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "documents[3].text" in info.value.details() and "42" in info.value.details()
    rebuilt = error_from_rpc(info.value, service="test")
    assert isinstance(rebuilt, errors.InvalidArgument)
    assert rebuilt.param == "documents[3].text" and rebuilt.code == "invalid_value"


def test_error_after_stream_items_is_a_status(test_server: grpc.Channel) -> None:
    call = test_server.unary_stream("/test.Svc/Stream")(b"")
    received = []
    with pytest.raises(grpc.RpcError) as info:
        for item in call:
            received.append(item)
    assert received == [b"first"]
    rebuilt = error_from_rpc(info.value, service="test")
    assert isinstance(rebuilt, errors.NotFound) and rebuilt.param == "file_id"


def test_crash_is_internal_without_leaking_details(test_server: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        test_server.unary_unary("/test.Svc/Crash")(b"")
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "ZeroDivisionError" in info.value.details() and "boom" not in info.value.details()


def test_every_error_type_has_a_grpc_code() -> None:
    for cls in errors.DistrustError.__subclasses__():
        assert grpc_code_for(cls("x")) != grpc.StatusCode.UNKNOWN


def test_busy_port_names_the_setting() -> None:
    first = start_server(host="127.0.0.1", port=0, port_setting="X_PORT", register=lambda s: None, service_names=[])
    try:
        with pytest.raises(errors.ConfigError, match="DISTRUST_SCORER_PORT"):
            start_server(
                host="127.0.0.1",
                port=first.port,
                port_setting="DISTRUST_SCORER_PORT",
                register=lambda s: None,
                service_names=[],
            )
    finally:
        first.stop(0)


@pytest.mark.parametrize(
    ("module", "service"),
    [
        ("services.scorer", "distrust.scorer.v1.ScorerService"),
        ("services.trainer", "distrust.trainer.v1.TrainerService"),
        ("services.inference", "distrust.inference.v1.InferenceService"),
    ],
)
def test_service_process_serves_health_and_reflection_and_stops_on_sigterm(module: str, service: str) -> None:
    port = free_port()
    prefix = module.split(".")[1].upper()
    env = {**os.environ, f"DISTRUST_{prefix}_PORT": str(port), "DISTRUST_STORAGE_ENDPOINT": "127.0.0.1:1"}
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=REPO, env=env, stderr=subprocess.PIPE)
    channel = open_channel(f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert check_health(channel, timeout_s=1) == "SERVING"
                assert check_health(channel, service, timeout_s=1) == "SERVING"
                break
            except grpc.RpcError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.2)
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for reply in replies for s in reply.list_services_response.service}
        assert {service, "grpc.health.v1.Health"} <= names
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        channel.close()
        if proc.poll() is None:
            proc.kill()
