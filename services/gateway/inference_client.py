"""The gateway's client of the inference service: streamed deltas in, typed errors from statuses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from shared.pb.distrust.inference.v1 import inference_pb2 as pb
from shared.pb.distrust.inference.v1 import inference_pb2_grpc
from shared.rpc.client import call_metadata
from shared.rpc.status import error_from_rpc

FINISH = {
    pb.FINISH_REASON_STOP: "stop",
    pb.FINISH_REASON_LENGTH: "length",
    pb.FINISH_REASON_CANCELLED: "stop",
    pb.FINISH_REASON_UNSPECIFIED: "stop",
}


@dataclass(frozen=True)
class Final:
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class Generation:
    """A running generation: iterate for text deltas then one `Final`; `cancel()` is safe from any thread."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> Iterator[str | Final]:
        try:
            for response in self._call:
                if response.delta:
                    yield response.delta
                if response.finish_reason:
                    yield Final(
                        FINISH[response.finish_reason], response.usage.prompt_tokens, response.usage.completion_tokens
                    )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc

    def cancel(self) -> None:
        self._call.cancel()


class InferenceClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = inference_pb2_grpc.InferenceServiceStub(channel)

    def generate(
        self,
        owner: str,
        *,
        model: str,
        prompt: str | None = None,
        messages: Sequence[dict[str, str]] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] = (),
        request_id: str = "",
    ) -> Generation:
        """Start a generation on the inference service."""
        request = pb.GenerateRequest(
            owner=owner, model=model, max_tokens=max_tokens or 0, stop=list(stop), request_id=request_id
        )
        if messages is not None:
            request.messages.CopyFrom(pb.ChatMessages(messages=[pb.ChatMessage(**m) for m in messages]))
        else:
            request.prompt = prompt or ""
        for name, value in (("temperature", temperature), ("top_p", top_p), ("seed", seed)):
            if value is not None:
                setattr(request, name, value)
        return Generation(self.stub.Generate(request, metadata=call_metadata()))

    def models(self, owner: str) -> list[dict[str, Any]]:
        try:
            response = self.stub.ListModels(pb.ListModelsRequest(owner=owner), timeout=30, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc
        return [
            {
                "id": m.id,
                "object": "model",
                "created": m.created,
                "owned_by": m.owned_by,
                "parent": m.parent or None,
                "kind": m.kind,
                "context_length": m.context_length or None,
            }
            for m in response.models
        ]
