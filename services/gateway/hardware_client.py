"""The gateway's client of the trainer's `HardwareService`, on `grpc.aio`: the workers' machines and recommendations."""

from __future__ import annotations

from services.gateway.schemas.common import ListResponse
from services.gateway.trainer_client import call, page
from shared.pb.distrust.trainer.v1 import hardware_pb2 as hpb
from shared.pb.distrust.trainer.v1 import hardware_pb2_grpc
from shared.rpc.client import AioChannel
from shared.rpc.messages import from_message
from shared.schemas.fine_tuning import Precision
from shared.schemas.hardware import HardwareRecommendation, WorkerHardware


class HardwareClient:
    """The trainer workers' machines, and training settings that fit them."""

    def __init__(self, channel: AioChannel) -> None:
        self.channel = channel

    @property
    def stub(self) -> hardware_pb2_grpc.HardwareServiceStub:
        """The service's stub on this event loop's channel."""
        return self.channel.stub(hardware_pb2_grpc.HardwareServiceStub)

    async def list(self, *, timeout: float = 10.0) -> ListResponse[WorkerHardware]:
        """The live workers' machines (the trainer's own while none reports)."""
        response = await call(self.stub.ListHardware, hpb.ListHardwareRequest(), timeout=timeout)
        return page([from_message(WorkerHardware, w) for w in response.workers], has_more=False)

    async def recommend(
        self,
        owner: str,
        model: str,
        *,
        seq_len: int,
        precision: Precision,
        quantize_base: int | None,
        worker: str | None,
    ) -> HardwareRecommendation:
        """Settings for training `model` on `worker`'s machine, or on the one with the smallest budget."""
        request = hpb.RecommendRequest(
            owner=owner,
            model=model,
            seq_len=seq_len,
            precision=precision,
            quantize_base=quantize_base,
            worker=worker or "",
        )
        return from_message(HardwareRecommendation, await call(self.stub.Recommend, request))
