"""The gateway's client of the scorer service: plain Python in and out, typed errors from gRPC statuses."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import grpc

from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
from shared.pb.distrust.scorer.v1 import scorer_pb2_grpc
from shared.rpc.client import call_metadata
from shared.rpc.status import error_from_rpc

PROFILE_ENUM = {None: pb.PROFILE_UNSPECIFIED, "strict": pb.PROFILE_STRICT, "reference": pb.PROFILE_REFERENCE}


class ScorerClient:
    def __init__(self, channel: grpc.Channel, *, timeout_s: float = 60.0) -> None:
        self.stub = scorer_pb2_grpc.ScorerServiceStub(channel)
        self.timeout_s = timeout_s

    def score(self, documents: Sequence[tuple[str, Mapping[str, Any] | None]], profile: str | None) -> list[dict]:
        request = pb.ScoreBatchRequest(
            documents=[
                pb.Document(text=text, metadata_json=json.dumps(meta) if meta else "") for text, meta in documents
            ],
            profile=PROFILE_ENUM[profile],
        )
        try:
            response = self.stub.ScoreBatch(request, timeout=self.timeout_s, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="scorer") from exc
        return [
            {
                "auth_weight": r.auth_weight,
                "prov_entropy": r.prov_entropy,
                "scoring_method": r.scoring_method,
                "profile": r.profile,
                "breakdown": json.loads(r.breakdown_json),
            }
            for r in response.results
        ]

    def prepare(
        self,
        *,
        owner: str,
        job_id: str,
        inputs: Sequence[Mapping[str, str | None]],
        options: Mapping[str, Any],
        profile: str | None,
    ) -> Iterator[pb.PrepareDatasetEvent]:
        request = pb.PrepareDatasetRequest(
            owner=owner,
            job_id=job_id,
            profile=PROFILE_ENUM[profile],
            options_json=json.dumps(options),
            inputs=[pb.RawInput(file_id=i["file_id"] or "", source_type=i.get("source_type") or "") for i in inputs],
        )
        try:
            yield from self.stub.PrepareDataset(request, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="scorer") from exc

    def score_dataset(
        self, *, owner: str, file_id: str, profile: str | None, text_field: str = "text"
    ) -> Iterator[pb.ScoreDatasetEvent]:
        request = pb.ScoreDatasetRequest(
            owner=owner, file_id=file_id, profile=PROFILE_ENUM[profile], text_field=text_field
        )
        try:
            yield from self.stub.ScoreDataset(request, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="scorer") from exc
