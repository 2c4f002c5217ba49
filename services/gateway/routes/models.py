"""Model files users take home (a base model or an adapter as a .tar.gz) and exports (fused, quantized, GGUF)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from services.gateway.auth import current_owner
from services.gateway.job_events import events_response
from shared.archive import pack_tar_gz
from shared.errors import FailedPrecondition
from shared.model_registry import model_not_found
from shared.storage import Bucket

router = APIRouter(prefix="/v1/models", tags=["models"])
Owner = Annotated[str, Depends(current_owner)]


@router.get("/{model:path}/archive", summary="A base model (HF layout) or an adapter as a .tar.gz", response_model=None)
def model_archive(model: str, request: Request, owner: Owner) -> FileResponse:
    backends = request.app.state.backends
    ref = backends.registry.resolve(model, owner)
    if ref is None:
        raise model_not_found(model)
    if ref.base is not None:
        path = pack_tar_gz(backends.store, Bucket.MODELS, f"base/{model}", ref.base.files, root=model)
    else:
        assert ref.adapter is not None
        path = pack_tar_gz(
            backends.store, Bucket.ADAPTERS, ref.adapter.job_id, ref.adapter.files, root=ref.adapter.job_id
        )
    safe = model.replace(":", "_").replace("/", "_")
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=f"{safe}.tar.gz",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


class Quantize(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bits: Literal[4, 8]
    group_size: Literal[32, 64, 128] | None = None


class CreateExport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="The fine-tuned model (adapter) to fuse into its base model")
    name: str | None = Field(default=None, description="Name of the exported model; default from the adapter's")
    quantize: Quantize | None = None
    gguf: bool = Field(default=False, description="Also write a GGUF file (unquantized exports only)")
    dtype: Literal["float16", "bfloat16", "float32"] | None = None


def _exports(request: Request) -> Any:
    return request.app.state.backends.exports


@router.post("/export", summary="Export a fine-tuned model: fuse, optionally quantize, optionally GGUF")
async def create_export(body: CreateExport, request: Request, owner: Owner) -> dict[str, Any]:
    return await run_in_threadpool(_exports(request).create, owner, body.model_dump(exclude_none=True))


@router.get("/exports", summary="List exports, newest first")
def list_exports(
    request: Request, owner: Owner, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    return _exports(request).list(owner, after=after, limit=limit)


@router.get("/exports/{export_id}", summary="Retrieve an export")
def get_export(export_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    return _exports(request).get(owner, export_id)


@router.get(
    "/exports/{export_id}/events", summary="An export's events; `stream=true` follows them", response_model=None
)
def export_events(
    export_id: str,
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    stream: bool = False,
) -> dict[str, Any] | StreamingResponse:
    return events_response(_exports(request).events, owner, export_id, after=after, limit=limit, stream=stream)


@router.get("/exports/{export_id}/gguf", summary="The export's GGUF file", response_model=None)
def export_gguf(export_id: str, request: Request, owner: Owner) -> StreamingResponse:
    export = _exports(request).get(owner, export_id)
    gguf = (export["result"] or {}).get("gguf")
    if not gguf:
        raise FailedPrecondition(
            f"Export {export_id} has no GGUF file (status {export['status']}, gguf {export['options'].get('gguf')})",
            param="export_id",
            code="no_gguf",
        )
    store = request.app.state.backends.store
    return StreamingResponse(
        store.iter_chunks(Bucket.RESULTS, gguf["key"]),
        media_type="application/octet-stream",
        headers={
            "content-disposition": f'attachment; filename="{export["output_model"]}.gguf"',
            "content-length": str(gguf["bytes"]),
        },
    )
