"""Conversions between the export contract and its records; options and results convert through their models."""

from __future__ import annotations

from services.trainer.jobs.exports import ExportRequest
from services.trainer.jobs.records import ExportRecord
from services.trainer.rpc.convert import STATUS, error_message
from shared.pb.distrust.trainer.v1 import export_pb2 as xpb
from shared.schemas.export import options_from_message, options_message, result_message


def export_request(request: xpb.CreateExportRequest) -> ExportRequest:
    """The use case's request from the contract's."""
    return ExportRequest(
        owner=request.owner,
        model=request.model,
        name=request.name or None,
        options=options_from_message(request.options),
    )


def export_message(record: ExportRecord) -> xpb.Export:
    """The contract's Export from a record."""
    return xpb.Export(
        id=record.id,
        owner=record.owner,
        model=record.model,
        base_model=record.base_model,
        output_model=record.output_model,
        status=STATUS[record.status],
        options=options_message(record.options),
        created_at=record.created_at,
        started_at=record.started_at or 0,
        finished_at=record.finished_at or 0,
        error=error_message(record.error),
        result=result_message(record.result) if record.result is not None else None,
    )
