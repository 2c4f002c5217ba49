"""The scorer gRPC server: contract `distrust.scorer.v1.ScorerService`. Converts messages, calls the domain."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import grpc

from services.scorer.config import ScorerSettings
from services.scorer.datasets import score_stored_dataset
from services.scorer.prepare_files import InputRef, PrepareOutcome, prepare_stored_files
from services.scorer.scoring import DEFAULT_PROFILE, ScoreResult, score_batch
from shared.errors import invalid_field
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
from shared.pb.distrust.scorer.v1 import scorer_pb2_grpc
from shared.redis_store import connect
from shared.rpc.server import RunningServer, start_server
from shared.storage import ObjectStore

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ScorerService"].full_name
MAX_BATCH = 10_000
_PROFILES = {pb.PROFILE_UNSPECIFIED: DEFAULT_PROFILE, pb.PROFILE_STRICT: "strict", pb.PROFILE_REFERENCE: "reference"}


def profile_name(value: int) -> str:
    if value not in _PROFILES:
        raise invalid_field("profile", value, "PROFILE_STRICT or PROFILE_REFERENCE")
    return _PROFILES[value]


def _documents(docs: Iterable[pb.Document]) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    for i, doc in enumerate(docs):
        if not doc.metadata_json:
            yield doc.text, None
            continue
        try:
            metadata = json.loads(doc.metadata_json)
        except json.JSONDecodeError as exc:
            raise invalid_field(
                f"documents[{i}].metadata_json", doc.metadata_json, f"a JSON object ({exc.msg})"
            ) from exc
        if not isinstance(metadata, dict):
            raise invalid_field(f"documents[{i}].metadata_json", doc.metadata_json, "a JSON object")
        yield doc.text, metadata


def _result(result: ScoreResult) -> pb.ScoreResult:
    return pb.ScoreResult(
        auth_weight=result.auth_weight,
        prov_entropy=result.prov_entropy,
        scoring_method=result.scoring_method,
        profile=result.profile,
        breakdown_json=json.dumps(result.to_dict()["breakdown"]),
    )


def _score(docs: Iterable[pb.Document], profile: str, offset: int = 0) -> list[pb.ScoreResult]:
    try:
        return [_result(r) for r in score_batch(_documents(docs), profile=profile)]
    except Exception as exc:
        _shift_index(exc, offset)
        raise


def _shift_index(exc: Exception, offset: int) -> None:
    # score_batch numbers documents from 0 in each chunk; name them by their position in the whole stream.
    param = getattr(exc, "param", None)
    if offset and isinstance(param, str) and param.startswith("documents["):
        index, rest = param[len("documents[") :].split("]", 1)
        if index.isdigit():
            new = f"documents[{int(index) + offset}]{rest}"
            exc.param = new  # type: ignore[attr-defined]
            exc.message = exc.message.replace(param, new)  # type: ignore[attr-defined]
            exc.args = (exc.message,)  # type: ignore[attr-defined]


class ScorerServicer(scorer_pb2_grpc.ScorerServiceServicer):
    def __init__(self, files: FileService) -> None:
        self.files = files

    def ScoreBatch(self, request: pb.ScoreBatchRequest, context: grpc.ServicerContext) -> pb.ScoreBatchResponse:
        if len(request.documents) > MAX_BATCH:
            raise invalid_field(
                "documents",
                f"{len(request.documents)} documents",
                f"at most {MAX_BATCH} per call (use ScoreStream for more)",
            )
        return pb.ScoreBatchResponse(results=_score(request.documents, profile_name(request.profile)))

    def ScoreStream(
        self, request_iterator: Iterator[pb.ScoreStreamRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.ScoreStreamResponse]:
        profile: str | None = None
        offset = 0
        for request in request_iterator:
            if profile is None:
                profile = profile_name(request.profile)
            if len(request.documents) > MAX_BATCH:
                raise invalid_field("documents", f"{len(request.documents)} documents", f"at most {MAX_BATCH} a chunk")
            yield pb.ScoreStreamResponse(results=_score(request.documents, profile, offset), offset=offset)
            offset += len(request.documents)

    def ScoreDataset(
        self, request: pb.ScoreDatasetRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ScoreDatasetEvent]:
        for p in score_stored_dataset(
            self.files,
            owner=request.owner,
            file_id=request.file_id,
            profile=profile_name(request.profile),
            text_field=request.text_field or "text",
        ):
            yield pb.ScoreDatasetEvent(
                lines_done=p.lines_done,
                bytes_total=p.bytes_total,
                bytes_done=p.bytes_done,
                lines_rejected=p.lines_rejected,
                output_file_id=p.output_file_id or "",
                errors_json=json.dumps(p.errors) if p.done else "",
                done=p.done,
            )

    def PrepareDataset(
        self, request: pb.PrepareDatasetRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.PrepareDatasetEvent]:
        try:
            options = json.loads(request.options_json) if request.options_json else {}
        except json.JSONDecodeError as exc:
            raise invalid_field("options", request.options_json, f"a JSON object ({exc.msg})") from exc
        inputs = [InputRef(i.file_id, i.source_type or None) for i in request.inputs]
        profile = profile_name(request.profile) if request.profile else None
        for item in prepare_stored_files(
            self.files, owner=request.owner, inputs=inputs, options=options, profile=profile
        ):
            if isinstance(item, PrepareOutcome):
                yield pb.PrepareDatasetEvent(
                    stage="done",
                    done=1,
                    total=1,
                    message="prepared",
                    train_file_id=item.train_file.id,
                    validation_file_id=item.validation_file.id,
                    report_file_id=item.report_file.id,
                    report_json=json.dumps(item.report, allow_nan=False),
                )
            else:
                yield pb.PrepareDatasetEvent(
                    stage=item.stage, done=item.done, total=item.total or 0, message=item.message
                )


def start(settings: ScorerSettings) -> RunningServer:
    store = ObjectStore(settings.storage)
    files = FileService(store, FileRepository(connect(settings.redis)), max_bytes=settings.max_output_bytes)

    def register(server: grpc.Server) -> None:
        scorer_pb2_grpc.add_ScorerServiceServicer_to_server(ScorerServicer(files), server)

    return start_server(
        host=settings.host,
        port=settings.port,
        port_setting="DISTRUST_SCORER_PORT",
        register=register,
        service_names=[SERVICE_NAME],
        max_workers=settings.max_workers,
    )
