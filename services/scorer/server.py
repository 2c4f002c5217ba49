"""The scorer gRPC server: contract `distrust.scorer.v1.ScorerService`. Converts messages, calls the domain."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import grpc

from services.scorer import convert
from services.scorer.config import ScorerSettings
from services.scorer.datasets import score_stored_dataset
from services.scorer.jobs import PREPARATION, PREPARE_TASK, QUEUE, PreparationService
from services.scorer.scoring import score_batch
from shared.errors import DistrustError, invalid_field
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs import queue
from shared.jobs.reaper import Reaper
from shared.jobs.store import JobStore
from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
from shared.pb.distrust.scorer.v1 import scorer_pb2_grpc
from shared.redis_store import connect
from shared.rpc.server import RunningServer, start_server
from shared.storage import ObjectStore

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ScorerService"].full_name
MAX_BATCH = 10_000


def _score(docs: Iterable[pb.Document], profile: str, offset: int = 0) -> list[pb.ScoreResult]:
    try:
        return [convert.result_message(r) for r in score_batch(convert.documents(docs), profile=profile)]
    except DistrustError as exc:
        _shift_index(exc, offset)
        raise


def _shift_index(exc: DistrustError, offset: int) -> None:
    # score_batch numbers documents from 0 in each chunk; name them by their position in the whole stream.
    param = exc.param
    if offset and param and param.startswith("documents["):
        index, rest = param[len("documents[") :].split("]", 1)
        if index.isdigit():
            new = f"documents[{int(index) + offset}]{rest}"
            exc.param = new
            exc.message = exc.message.replace(param, new)
            exc.args = (exc.message,)


class ScorerServicer(scorer_pb2_grpc.ScorerServiceServicer):
    """Scoring calls run in the server; preparation calls manage jobs that scorer workers run."""

    def __init__(self, files: FileService, preparations: PreparationService) -> None:
        self.files = files
        self.preparations = preparations

    def ScoreBatch(self, request: pb.ScoreBatchRequest, _context: grpc.ServicerContext) -> pb.ScoreBatchResponse:
        if len(request.documents) > MAX_BATCH:
            raise invalid_field(
                "documents",
                f"{len(request.documents)} documents",
                f"at most {MAX_BATCH} per call (use ScoreStream for more)",
            )
        return pb.ScoreBatchResponse(results=_score(request.documents, convert.profile_name(request.profile)))

    def ScoreStream(
        self,
        request_iterator: Iterator[pb.ScoreStreamRequest],
        _context: grpc.ServicerContext,
    ) -> Iterator[pb.ScoreStreamResponse]:
        profile: str | None = None
        offset = 0
        for request in request_iterator:
            if profile is None:
                profile = convert.profile_name(request.profile)
            if len(request.documents) > MAX_BATCH:
                raise invalid_field("documents", f"{len(request.documents)} documents", f"at most {MAX_BATCH} a chunk")
            yield pb.ScoreStreamResponse(results=_score(request.documents, profile, offset), offset=offset)
            offset += len(request.documents)

    def ScoreDataset(
        self,
        request: pb.ScoreDatasetRequest,
        _context: grpc.ServicerContext,
    ) -> Iterator[pb.ScoreDatasetEvent]:
        for p in score_stored_dataset(
            self.files,
            owner=request.owner,
            file_id=request.file_id,
            profile=convert.profile_name(request.profile),
            text_field=request.text_field or "text",
        ):
            yield pb.ScoreDatasetEvent(
                lines_done=p.lines_done,
                bytes_total=p.bytes_total,
                bytes_done=p.bytes_done,
                lines_rejected=p.lines_rejected,
                output_file_id=p.output_file_id or "",
                errors=convert.line_error_messages(p.errors) if p.done else [],
                done=p.done,
            )

    def CreatePreparation(
        self, request: pb.CreatePreparationRequest, _context: grpc.ServicerContext
    ) -> pb.PreparationJob:
        options = convert.options_from_message(request.options)
        pairs = convert.pairs_from_message(request)
        job = self.preparations.create(request.owner, convert.inputs_from_messages(request.inputs), options, pairs)
        return convert.job_message(job)

    def GetPreparation(self, request: pb.GetPreparationRequest, _context: grpc.ServicerContext) -> pb.PreparationJob:
        return convert.job_message(self.preparations.get(request.owner, request.job_id))

    def WatchPreparation(
        self,
        request: pb.GetPreparationRequest,
        _context: grpc.ServicerContext,
    ) -> Iterator[pb.PreparationJob]:
        for job in self.preparations.watch(request.owner, request.job_id):
            yield convert.job_message(job)

    def CancelPreparation(self, request: pb.GetPreparationRequest, _context: grpc.ServicerContext) -> pb.PreparationJob:
        return convert.job_message(self.preparations.cancel(request.owner, request.job_id))


def celery_enqueue(redis_url: str) -> Callable[[str], None]:
    """Queue preparation jobs for the scorer workers (queue `preparation`)."""
    return queue.celery_enqueue(queue.create_celery("distrust-scorer", redis_url, QUEUE), PREPARE_TASK, QUEUE)


def start(settings: ScorerSettings, *, enqueue: Callable[[str], None] | None = None) -> RunningServer:
    """Serve the scorer and watch its preparation jobs (the reaper requeues those whose worker died).

    `enqueue` queues a job id for a worker; by default through Celery.
    """
    client = connect(settings.redis)
    files = FileService(ObjectStore(settings.storage), FileRepository(client), max_bytes=settings.max_output_bytes)
    store = JobStore(client, PREPARATION)
    enqueue = enqueue or celery_enqueue(settings.redis.url.get_secret_value())
    preparations = PreparationService(store, files, enqueue)
    reaper = Reaper([(store, enqueue)], settings.reaper_interval_s)

    def register(server: grpc.Server) -> None:
        scorer_pb2_grpc.add_ScorerServiceServicer_to_server(  # type: ignore[no-untyped-call]  # generated gRPC code
            ScorerServicer(files, preparations), server
        )

    running = start_server(
        host=settings.host,
        port=settings.port,
        port_setting="DISTRUST_SCORER_PORT",
        register=register,
        service_names=[SERVICE_NAME],
        max_workers=settings.max_workers,
    )
    reaper.start()
    running.on_stop.append(reaper.stop)
    return running
