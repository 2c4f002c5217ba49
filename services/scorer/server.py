"""The scorer gRPC server: contract `distrust.scorer.v1.ScorerService`."""

from __future__ import annotations

import grpc

from services.scorer.config import ScorerSettings
from shared.pb.distrust.scorer.v1 import scorer_pb2, scorer_pb2_grpc
from shared.rpc.server import RunningServer, start_server

SERVICE_NAME = scorer_pb2.DESCRIPTOR.services_by_name["ScorerService"].full_name


class ScorerServicer(scorer_pb2_grpc.ScorerServiceServicer):
    """Health and reflection are served; the job RPCs answer UNIMPLEMENTED until the scorer issue lands."""


def start(settings: ScorerSettings) -> RunningServer:
    def register(server: grpc.Server) -> None:
        scorer_pb2_grpc.add_ScorerServiceServicer_to_server(ScorerServicer(), server)

    return start_server(host=settings.host, port=settings.port, port_setting="DISTRUST_SCORER_PORT",
                        register=register, service_names=[SERVICE_NAME], max_workers=settings.max_workers)
