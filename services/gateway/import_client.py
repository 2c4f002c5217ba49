"""The gateway's client of the model import service (hosted by the trainer), on `grpc.aio`."""

from __future__ import annotations

from typing import cast

from services.gateway.evaluation_client import job_error
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.model_import import CreateModelImport, ModelImport
from services.gateway.trainer_client import STATUS_NAMES, EventStream, call, page, watch
from shared.pb.distrust.trainer.v1 import import_pb2 as ipb
from shared.pb.distrust.trainer.v1 import import_pb2_grpc
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb
from shared.rpc.client import AioChannel
from shared.schemas.model_import import ImportQuantization, provenance_from_message


def import_object(message: ipb.Import) -> ModelImport:
    """The HTTP object of an import."""
    return ModelImport(
        id=message.id,
        file=message.file,
        name=message.name,
        # The trainer only stores validated values.
        quantization=cast(ImportQuantization, message.quantization),
        public=message.public,
        status=STATUS_NAMES[message.status],
        created_at=message.created_at,
        started_at=message.started_at or None,
        finished_at=message.finished_at or None,
        error=job_error(message.error),
        provenance=provenance_from_message(message.provenance) if message.HasField("provenance") else None,
    )


class ImportClient:
    """Model imports through the trainer's `ImportService`."""

    def __init__(self, channel: AioChannel) -> None:
        self.channel = channel

    @property
    def stub(self) -> import_pb2_grpc.ImportServiceStub:
        """The service's stub on this event loop's channel."""
        return self.channel.stub(import_pb2_grpc.ImportServiceStub)

    async def create(self, owner: str, body: CreateModelImport) -> ModelImport:
        """Check the file, the name and the options, then queue the import."""
        request = ipb.CreateImportRequest(
            owner=owner, file=body.file, name=body.name or "", quantization=body.quantization, public=body.public
        )
        return import_object(await call(self.stub.CreateImport, request))

    async def get(self, owner: str, import_id: str) -> ModelImport:
        """One import of the owner."""
        return import_object(await call(self.stub.GetImport, pb.GetJobRequest(owner=owner, job_id=import_id)))

    async def list(self, owner: str, *, after: str | None, limit: int) -> ListResponse[ModelImport]:
        """A page of the owner's imports, newest first."""
        response = await call(self.stub.ListImports, pb.ListJobsRequest(owner=owner, after=after or "", limit=limit))
        return page([import_object(i) for i in response.imports], response.has_more)

    def events(self, owner: str, import_id: str, *, after_sequence: int, follow: bool) -> EventStream:
        """An import's events from `after_sequence`, following it live with `follow`."""
        return watch(
            self.stub.WatchImport,
            owner,
            import_id,
            after_sequence=after_sequence,
            follow=follow,
            kind="model.import.event",
        )
