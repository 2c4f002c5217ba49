"""The inference gRPC server: contract `distrust.inference.v1.InferenceService`."""

from __future__ import annotations

import grpc

from services.inference.config import InferenceSettings
from shared.pb.distrust.inference.v1 import inference_pb2, inference_pb2_grpc
from shared.rpc.server import RunningServer, start_server

SERVICE_NAME = inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    """Health and reflection are served; the job RPCs answer UNIMPLEMENTED until the inference issue lands."""


def start(settings: InferenceSettings) -> RunningServer:
    def register(server: grpc.Server) -> None:
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(InferenceServicer(), server)

    return start_server(host=settings.host, port=settings.port, port_setting="DISTRUST_INFERENCE_PORT",
                        register=register, service_names=[SERVICE_NAME], max_workers=settings.max_workers)
