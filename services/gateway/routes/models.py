"""Models beyond OpenAI's list: one model with its provenance, imports, archives and exports.

Imports turn a user's GGUF or model folder into a base model; archives are the files users take home (.tar.gz);
exports fuse an adapter (optionally quantized, optionally GGUF).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from services.gateway.auth import require
from services.gateway.deps import (
    JOB_SLOT,
    AdminsDep,
    ExportsDep,
    ImportsDep,
    InferenceDep,
    Owner,
    RegistryDep,
    StoreDep,
)
from services.gateway.downloads import attachment
from services.gateway.job_events import events_response
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.export import CreateExport, ModelExport
from services.gateway.schemas.fine_tuning import FineTuningJobEvent
from services.gateway.schemas.model_import import CreateModelImport, ModelImport
from services.gateway.schemas.models import Model
from shared.archive import pack_tar_gz
from shared.errors import FailedPrecondition, PermissionDenied
from shared.model_registry import model_not_found
from shared.storage import Bucket

router = APIRouter(prefix="/v1/models", tags=["models"])
TRAINING = require("training")


@router.get(
    "/{model:path}/archive",
    dependencies=[TRAINING],
    summary="A base model (HF layout) or an adapter as a .tar.gz",
    response_class=FileResponse,
    responses={200: {"content": {"application/gzip": {}}}},
)
def model_archive(model: str, registry: RegistryDep, store: StoreDep, owner: Owner) -> FileResponse:
    """Pack a model the owner may use as a .tar.gz and send it."""
    ref = registry.resolve(model, owner)
    if ref is None:
        raise model_not_found(model)
    if ref.adapter is None:
        path = pack_tar_gz(store, Bucket.MODELS, ref.base.prefix, ref.base.files, root=model)
    else:
        adapter = ref.adapter
        path = pack_tar_gz(store, adapter.bucket, adapter.prefix, adapter.files, root=adapter.job_id)
    safe = model.replace(":", "_").replace("/", "_")
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=f"{safe}.tar.gz",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.post(
    "/export",
    dependencies=[TRAINING, JOB_SLOT],
    summary="Export a fine-tuned model: fuse, optionally quantize, optionally GGUF",
)
async def create_export(body: CreateExport, exports: ExportsDep, owner: Owner) -> ModelExport:
    """Check the adapter, the options and the output name, then queue the export."""
    return await exports.create(owner, body)


@router.get("/exports", dependencies=[TRAINING], summary="List exports, newest first")
async def list_exports(
    exports: ExportsDep, owner: Owner, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> ListResponse[ModelExport]:
    """The owner's exports, newest first."""
    return await exports.list(owner, after=after, limit=limit)


@router.get("/exports/{export_id}", dependencies=[TRAINING], summary="Retrieve an export")
async def get_export(export_id: str, exports: ExportsDep, owner: Owner) -> ModelExport:
    """One export of the owner."""
    return await exports.get(owner, export_id)


@router.get(
    "/exports/{export_id}/events",
    dependencies=[TRAINING],
    summary="An export's events; `stream=true` follows them",
    response_model=ListResponse[FineTuningJobEvent],
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def export_events(
    export_id: str,
    exports: ExportsDep,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    stream: bool = False,
) -> ListResponse[FineTuningJobEvent] | StreamingResponse:
    """An export's events, newest first; or followed as server-sent events."""
    return await events_response(exports.events, owner, export_id, after=after, limit=limit, stream=stream)


@router.get(
    "/exports/{export_id}/gguf",
    dependencies=[TRAINING],
    summary="The export's GGUF file",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def export_gguf(export_id: str, exports: ExportsDep, store: StoreDep, owner: Owner) -> StreamingResponse:
    """Stream the GGUF file of a finished export that wrote one."""
    export = await exports.get(owner, export_id)
    gguf = export.result.gguf if export.result is not None else None
    if gguf is None:
        raise FailedPrecondition(
            f"Export {export_id} has no GGUF file (status {export.status}, gguf {export.options.gguf})",
            param="export_id",
            code="no_gguf",
        )
    return StreamingResponse(
        store.iter_chunks(Bucket.RESULTS, gguf.key),
        media_type="application/octet-stream",
        headers={
            "content-disposition": attachment(f"{export.output_model}.gguf"),
            "content-length": str(gguf.bytes),
        },
    )


@router.post(
    "", dependencies=[TRAINING, JOB_SLOT], summary="Import a model file uploaded with purpose `model` as a base model"
)
async def create_import(body: CreateModelImport, imports: ImportsDep, admins: AdminsDep, owner: Owner) -> ModelImport:
    """Check the file, the name and the options, then queue the import; a public model needs an admin key."""
    if body.public and owner not in admins:
        raise PermissionDenied(
            "public: only an admin key (DISTRUST_GATEWAY_ADMIN_OWNERS) may import a model for everyone; "
            "leave public false to import it for yourself",
            param="public",
        )
    return await imports.create(owner, body)


@router.get("/imports", dependencies=[TRAINING], summary="List model imports, newest first")
async def list_imports(
    imports: ImportsDep, owner: Owner, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> ListResponse[ModelImport]:
    """The owner's imports, newest first."""
    return await imports.list(owner, after=after, limit=limit)


@router.get("/imports/{import_id}", dependencies=[TRAINING], summary="Retrieve a model import")
async def get_import(import_id: str, imports: ImportsDep, owner: Owner) -> ModelImport:
    """One import of the owner."""
    return await imports.get(owner, import_id)


@router.get(
    "/imports/{import_id}/events",
    dependencies=[TRAINING],
    summary="An import's events; `stream=true` follows them",
    response_model=ListResponse[FineTuningJobEvent],
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def import_events(
    import_id: str,
    imports: ImportsDep,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    stream: bool = False,
) -> ListResponse[FineTuningJobEvent] | StreamingResponse:
    """An import's events, newest first; or followed as server-sent events."""
    return await events_response(imports.events, owner, import_id, after=after, limit=limit, stream=stream)


# Last: its path pattern would take every other route's path.
@router.get(
    "/{model:path}",
    dependencies=[require("inference")],
    summary="One model, with its provenance when it was imported",
)
async def get_model(model: str, owner: Owner, inference: InferenceDep, registry: RegistryDep) -> Model:
    """One model by id, if it is yours or a base model."""
    for entry in await inference.models(owner):
        if entry.id == model:
            record = registry.get_base(model, owner=owner) if entry.kind == "base" else None
            return entry.model_copy(update={"provenance": record.provenance if record else None})
    raise model_not_found(model)
