"""The scorer's messages to and from its domain types, one function per direction and concept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from typing import Any

from services.scorer.scoring import DEFAULT_PROFILE
from shared.errors import invalid_field
from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
from shared.rpc.messages import from_message, to_message
from shared.rpc.structs import from_struct, to_struct
from shared.schemas.preference_pairs import PairOptions
from shared.schemas.preparation import PreparationInput, PreparationOptions, PreparationRecord
from shared.schemas.scoring import LineError, ScoreResult

_PROFILES: dict[int, str] = {
    pb.PROFILE_UNSPECIFIED: DEFAULT_PROFILE,
    pb.PROFILE_STRICT: "strict",
    pb.PROFILE_REFERENCE: "reference",
}
PROFILE_ENUM = {"strict": pb.PROFILE_STRICT, "reference": pb.PROFILE_REFERENCE}


def profile_name(value: int, field: str = "profile") -> str:
    """The profile a `Profile` value names (unspecified: the default); InvalidArgument for an unknown value."""
    if value not in _PROFILES:
        raise invalid_field(field, value, "PROFILE_STRICT or PROFILE_REFERENCE")
    return _PROFILES[value]


def documents(docs: Iterable[pb.Document]) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    """(text, metadata or None) of each document."""
    for doc in docs:
        yield doc.text, from_struct(doc.metadata) if doc.HasField("metadata") else None


def result_message(result: ScoreResult) -> pb.ScoreResult:
    """A score with its breakdown; unset optional terms stay absent."""
    breakdown = {name: value for name, value in asdict(result.breakdown).items() if value is not None}
    breakdown["source_counts"] = [
        pb.SourceCount(source_type=name, count=count) for name, count in result.breakdown.source_counts.items()
    ]
    return pb.ScoreResult(
        auth_weight=result.auth_weight,
        prov_entropy=result.prov_entropy,
        scoring_method=result.scoring_method,
        profile=result.profile,
        breakdown=pb.Breakdown(**breakdown),
    )


def line_error_messages(errors: Iterable[LineError]) -> list[pb.LineError]:
    """The rejected lines of a scored dataset."""
    return [pb.LineError(**error.model_dump()) for error in errors]


def options_from_message(message: pb.PreparationOptions) -> PreparationOptions:
    """The options a request carries, checked as the model checks them."""
    values: dict[str, Any] = {name: getattr(message, name) for name in PreparationOptions.model_fields}
    values["profile"] = profile_name(message.profile, "options.profile")
    values["targets"] = list(message.targets)
    return PreparationOptions.model_validate(values)


def pairs_from_message(request: pb.CreatePreparationRequest) -> PairOptions | None:
    """A pair-building request's options; None for a preparation."""
    return from_message(PairOptions, request.pairs) if request.HasField("pairs") else None


def inputs_from_messages(messages: Iterable[pb.PreparationInput]) -> list[PreparationInput]:
    """The raw inputs of a request."""
    return [
        PreparationInput(file_id=m.file_id, source_type=m.source_type if m.HasField("source_type") else None)
        for m in messages
    ]


def job_message(job: PreparationRecord) -> pb.PreparationJob:
    """A preparation job as the contract carries it."""
    options = job.options.model_dump()
    options["profile"] = PROFILE_ENUM[job.options.profile]
    message = pb.PreparationJob(
        id=job.id,
        status=f"JOB_STATUS_{job.status.name}",
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        inputs=[pb.PreparationInput(**i.model_dump(exclude_none=True)) for i in job.inputs],
        options=pb.PreparationOptions(**options),
        progress=pb.PreparationProgress(**job.progress.model_dump(exclude_none=True)),
        train_file=job.train_file,
        validation_file=job.validation_file,
        report_file=job.report_file,
    )
    if job.report is not None:
        message.report.CopyFrom(to_struct(job.report))
    if job.error is not None:
        message.error.CopyFrom(pb.JobError(**job.error.model_dump(exclude_none=True)))
    if job.pairs is not None:
        message.pairs.CopyFrom(to_message(pb.PairOptions, job.pairs))
    return message
