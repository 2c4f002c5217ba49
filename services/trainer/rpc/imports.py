"""The servicer of `ImportService`: convert, call one use case, convert back."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from services.trainer.jobs.imports import ImportService
from services.trainer.rpc import convert
from shared.pb.distrust.trainer.v1 import import_pb2 as ipb
from shared.pb.distrust.trainer.v1 import import_pb2_grpc
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb


class ImportServicer(import_pb2_grpc.ImportServiceServicer):
    """Model imports (GGUF files, Hugging Face and MLX folders), on the trainer's workers."""

    def __init__(self, imports: ImportService) -> None:
        self.imports = imports

    def CreateImport(self, request: ipb.CreateImportRequest, _context: grpc.ServicerContext) -> ipb.Import:
        return convert.import_message(self.imports.create(convert.import_request(request)))

    def GetImport(self, request: pb.GetJobRequest, _context: grpc.ServicerContext) -> ipb.Import:
        return convert.import_message(self.imports.get(request.owner, request.job_id))

    def ListImports(self, request: pb.ListJobsRequest, _context: grpc.ServicerContext) -> ipb.ListImportsResponse:
        imports, has_more = self.imports.list(request.owner, after=request.after or None, limit=request.limit or 20)
        return ipb.ListImportsResponse(imports=[convert.import_message(i) for i in imports], has_more=has_more)

    def WatchImport(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        yield from convert.follow_messages(
            self.imports.events(
                request.owner, request.job_id, after_sequence=request.after_sequence, follow=request.follow
            ),
            context,
        )
