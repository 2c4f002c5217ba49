"""The trainer gRPC server: contract `distrust.trainer.v1.TrainerService`."""

from __future__ import annotations

import grpc

from services.trainer.config import TrainerSettings
from shared.pb.distrust.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from shared.rpc.server import RunningServer, start_server

SERVICE_NAME = trainer_pb2.DESCRIPTOR.services_by_name["TrainerService"].full_name


class TrainerServicer(trainer_pb2_grpc.TrainerServiceServicer):
    """Health and reflection are served; the job RPCs answer UNIMPLEMENTED until the trainer issue lands."""


def start(settings: TrainerSettings) -> RunningServer:
    def register(server: grpc.Server) -> None:
        trainer_pb2_grpc.add_TrainerServiceServicer_to_server(TrainerServicer(), server)

    return start_server(host=settings.host, port=settings.port, port_setting="DISTRUST_TRAINER_PORT",
                        register=register, service_names=[SERVICE_NAME], max_workers=settings.max_workers)
