"""The servicer of `HardwareService`: convert, call one use case, convert back."""

from __future__ import annotations

import grpc

from services.trainer.system.fleet import DEFAULT_SEQ_LEN, Fleet, RecommendQuery
from services.trainer.system.recommend import QLORA_FIELD, memory_options
from shared.pb.distrust.trainer.v1 import hardware_pb2 as hpb
from shared.pb.distrust.trainer.v1 import hardware_pb2_grpc
from shared.rpc.messages import to_message


def recommend_query(request: hpb.RecommendRequest) -> RecommendQuery:
    """The use case's query from the contract's request; unset fields take their defaults."""
    return RecommendQuery(
        owner=request.owner,
        model=request.model,
        seq_len=request.seq_len if request.HasField("seq_len") else DEFAULT_SEQ_LEN,
        hyperparameters=memory_options(
            request.precision or "auto", request.quantize_base if request.HasField(QLORA_FIELD) else None
        ),
        worker=request.worker or None,
    )


class HardwareServicer(hardware_pb2_grpc.HardwareServiceServicer):
    """The workers' machines and the training settings that fit them."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    def ListHardware(
        self, _request: hpb.ListHardwareRequest, _context: grpc.ServicerContext
    ) -> hpb.ListHardwareResponse:
        return hpb.ListHardwareResponse(workers=[to_message(hpb.WorkerHardware, w) for w in self.fleet.list()])

    def Recommend(self, request: hpb.RecommendRequest, _context: grpc.ServicerContext) -> hpb.HardwareRecommendation:
        return to_message(hpb.HardwareRecommendation, self.fleet.recommend(recommend_query(request)))
