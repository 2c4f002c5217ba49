"""The gateway's client of the scorer service: the shared schemas in and out, typed errors from gRPC statuses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from typing import Any

import grpc
from google.protobuf.message import Message

from shared.jobs.records import JobError, JobStatus
from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
from shared.pb.distrust.scorer.v1 import scorer_pb2_grpc
from shared.rpc.client import call_metadata
from shared.rpc.messages import from_message, to_message
from shared.rpc.status import error_from_rpc
from shared.rpc.structs import from_struct, to_struct
from shared.schemas.preference_pairs import PairOptions
from shared.schemas.preparation import (
    PreparationInput,
    PreparationOptions,
    PreparationProgress,
    PreparationRecord,
    Profile,
)
from shared.schemas.scoring import Breakdown, ScoreResult

PROFILE_ENUM = {None: pb.PROFILE_UNSPECIFIED, "strict": pb.PROFILE_STRICT, "reference": pb.PROFILE_REFERENCE}


class ScorerClient:
    """Scoring calls and preparation jobs of the scorer service."""

    def __init__(self, channel: grpc.Channel, *, timeout_s: float = 60.0) -> None:
        self.stub = scorer_pb2_grpc.ScorerServiceStub(channel)  # type: ignore[no-untyped-call]  # generated gRPC code
        self.timeout_s = timeout_s

    def score(
        self, documents: Sequence[tuple[str, Mapping[str, Any] | None]], profile: Profile | None
    ) -> list[ScoreResult]:
        """Score documents (text, metadata or None), in order."""
        request = pb.ScoreBatchRequest(
            documents=[pb.Document(text=text, metadata=to_struct(meta) if meta else None) for text, meta in documents],
            profile=PROFILE_ENUM[profile],
        )
        response = self._call(self.stub.ScoreBatch, request)
        return [_score_result(r) for r in response.results]

    def create_preparation(
        self,
        owner: str,
        inputs: Sequence[PreparationInput],
        options: PreparationOptions,
        pairs: PairOptions | None = None,
    ) -> PreparationRecord:
        """Start a preparation (or, with `pairs`, pair-building) job; the scorer checks the inputs first."""
        request = pb.CreatePreparationRequest(
            owner=owner,
            inputs=[pb.PreparationInput(**i.model_dump(exclude_none=True)) for i in inputs],
            options=pb.PreparationOptions(**{**options.model_dump(), "profile": PROFILE_ENUM[options.profile]}),
            pairs=to_message(pb.PairOptions, pairs) if pairs is not None else None,
        )
        return _job(self._call(self.stub.CreatePreparation, request), owner)

    def get_preparation(self, owner: str, job_id: str) -> PreparationRecord:
        """The owner's preparation job."""
        request = pb.GetPreparationRequest(owner=owner, job_id=job_id)
        return _job(self._call(self.stub.GetPreparation, request), owner)

    def watch_preparation(self, owner: str, job_id: str) -> Iterator[PreparationRecord]:
        """The job now and after each change, until it ends."""
        request = pb.GetPreparationRequest(owner=owner, job_id=job_id)
        try:
            for message in self.stub.WatchPreparation(request, metadata=call_metadata()):
                yield _job(message, owner)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="scorer") from exc

    def cancel_preparation(self, owner: str, job_id: str) -> PreparationRecord:
        """Ask the owner's unfinished job to stop."""
        request = pb.GetPreparationRequest(owner=owner, job_id=job_id)
        return _job(self._call(self.stub.CancelPreparation, request), owner)

    def _call(self, method: Any, request: Message) -> Any:
        try:
            return method(request, timeout=self.timeout_s, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="scorer") from exc


def _present(message: Message, name: str) -> Any:
    """A field's value; None for an unset field that has presence (`optional` scalars, messages)."""
    field = message.DESCRIPTOR.fields_by_name[name]
    if field.has_presence and not message.HasField(name):
        return None
    return getattr(message, name)


def _score_result(message: pb.ScoreResult) -> ScoreResult:
    values = {f.name: _present(message.breakdown, f.name) for f in fields(Breakdown)}
    values["source_counts"] = {c.source_type: c.count for c in message.breakdown.source_counts}
    breakdown = Breakdown(**values)
    return ScoreResult(
        auth_weight=message.auth_weight,
        prov_entropy=message.prov_entropy,
        scoring_method=message.scoring_method,
        profile=message.profile,
        breakdown=breakdown,
    )


def _job(message: pb.PreparationJob, owner: str) -> PreparationRecord:
    options = {name: getattr(message.options, name) for name in PreparationOptions.model_fields}
    options["profile"] = {pb.PROFILE_REFERENCE: "reference"}.get(message.options.profile, "strict")
    options["targets"] = list(message.options.targets)
    return PreparationRecord(
        id=message.id,
        owner=owner,
        status=JobStatus[pb.JobStatus.Name(message.status).removeprefix("JOB_STATUS_")],
        created_at=message.created_at,
        started_at=_present(message, "started_at"),
        finished_at=_present(message, "finished_at"),
        error=JobError(**{n: _present(message.error, n) for n in JobError.model_fields})
        if message.HasField("error")
        else None,
        inputs=[PreparationInput(file_id=i.file_id, source_type=_present(i, "source_type")) for i in message.inputs],
        options=PreparationOptions.model_validate(options),
        progress=PreparationProgress(**{n: _present(message.progress, n) for n in PreparationProgress.model_fields}),
        train_file=_present(message, "train_file"),
        validation_file=_present(message, "validation_file"),
        report_file=_present(message, "report_file"),
        report=from_struct(message.report) if message.HasField("report") else None,
        pairs=from_message(PairOptions, message.pairs) if message.HasField("pairs") else None,
    )
