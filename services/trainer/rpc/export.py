"""The servicer of `ExportService`: convert, call one use case, convert back."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from services.trainer.jobs.exports import ExportService
from services.trainer.rpc import convert
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.pb.distrust.trainer.v1 import export_pb2_grpc
from shared.pb.distrust.trainer.v1 import trainer_pb2 as pb


class ExportServicer(export_pb2_grpc.ExportServiceServicer):
    """Exports of fine-tuned models (fused, quantized, GGUF), on the trainer's workers."""

    def __init__(self, exports: ExportService) -> None:
        self.exports = exports

    def CreateExport(self, request: xpb.CreateExportRequest, _context: grpc.ServicerContext) -> xpb.Export:
        return convert.export_message(self.exports.create(convert.export_request(request)))

    def GetExport(self, request: pb.GetJobRequest, _context: grpc.ServicerContext) -> xpb.Export:
        return convert.export_message(self.exports.get(request.owner, request.job_id))

    def ListExports(self, request: pb.ListJobsRequest, _context: grpc.ServicerContext) -> xpb.ListExportsResponse:
        exports, has_more = self.exports.list(request.owner, after=request.after or None, limit=request.limit or 20)
        return xpb.ListExportsResponse(exports=[convert.export_message(e) for e in exports], has_more=has_more)

    def WatchExport(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        yield from convert.follow_messages(
            self.exports.events(
                request.owner, request.job_id, after_sequence=request.after_sequence, follow=request.follow
            ),
            context,
        )
