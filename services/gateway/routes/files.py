"""OpenAI-compatible Files API: upload, list, retrieve, content, delete."""

from __future__ import annotations

from typing import Annotated

from anyio import from_thread
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from services.gateway.deps import FilesDep, LimiterDep, Owner, PrincipalDep
from services.gateway.downloads import attachment
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.files import FileDeleted, FileObject
from shared.errors import InvalidArgument, PayloadTooLarge

router = APIRouter(prefix="/v1/files", tags=["files"])
MULTIPART_OVERHEAD = 64 * 1024

_UPLOAD_BODY: dict[str, object] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "purpose": {"type": "string", "enum": ["fine-tune", "batch", "assistants", "raw", "evals"]},
                    },
                }
            }
        },
    }
}
_CONTENT: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
}


@router.post("", summary="Upload a file", openapi_extra=_UPLOAD_BODY)
async def create_file(request: Request, principal: PrincipalDep, files: FilesDep, limiter: LimiterDep) -> FileObject:
    """Store an uploaded file, after checking it suits its purpose and its owner's storage limit."""
    quota = await run_in_threadpool(limiter.storage_left, principal.owner, principal.limits)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > files.max_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(
            f"file: upload of {declared} bytes exceeds the {files.max_bytes}-byte limit", param="file"
        )
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidArgument(f"content-type: got {content_type!r}, expected multipart/form-data", param="file")
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        purpose = form.get("purpose")
        if not isinstance(upload, UploadFile):
            raise InvalidArgument("file: missing; send the file as the multipart field `file`", param="file")
        if not isinstance(purpose, str) or not purpose:
            raise InvalidArgument("purpose: missing; one of fine-tune, batch, assistants, raw, evals", param="purpose")
        return await run_in_threadpool(
            files.upload,
            owner=principal.owner,
            filename=upload.filename or "",
            purpose=purpose,
            stream=upload.file,
            quota=quota,
            still_wanted=lambda: not from_thread.run(request.is_disconnected),
        )


@router.get("", summary="List files")
def list_files(
    owner: Owner,
    files: FilesDep,
    purpose: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    after: str | None = None,
    order: str = "desc",
) -> ListResponse[FileObject]:
    """Your files, newest first unless `order=asc`."""
    page = files.list(owner=owner, purpose=purpose, limit=limit, after=after, order=order)
    return ListResponse[FileObject](
        data=page.data,
        has_more=page.has_more,
        first_id=page.data[0].id if page.data else None,
        last_id=page.data[-1].id if page.data else None,
    )


@router.get("/{file_id}", summary="Retrieve a file")
def retrieve_file(file_id: str, owner: Owner, files: FilesDep) -> FileObject:
    """One file's record."""
    return files.get(owner=owner, file_id=file_id)


@router.get(
    "/{file_id}/content", summary="Download a file's content", response_class=StreamingResponse, responses=_CONTENT
)
def file_content(file_id: str, owner: Owner, files: FilesDep) -> StreamingResponse:
    """The file's bytes, as uploaded."""
    record, chunks = files.iter_content(owner=owner, file_id=file_id)
    disposition = attachment(record.filename)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"content-length": str(record.bytes), "content-disposition": disposition},
    )


@router.delete("/{file_id}", summary="Delete a file")
def delete_file(file_id: str, owner: Owner, files: FilesDep) -> FileDeleted:
    """Delete the file's record and content."""
    record = files.delete(owner=owner, file_id=file_id)
    return FileDeleted(id=record.id, deleted=True)
