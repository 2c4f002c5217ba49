"""OpenAI-compatible Files API: upload, list, retrieve, content, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from services.gateway.auth import current_owner
from shared.errors import InvalidArgument, PayloadTooLarge
from shared.files import FileObject, FileService

router = APIRouter(prefix="/v1/files", tags=["files"])
Owner = Annotated[str, Depends(current_owner)]
MULTIPART_OVERHEAD = 64 * 1024

_UPLOAD_BODY = {
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


def files_service(request: Request) -> FileService:
    return request.app.state.backends.files


Files = Annotated[FileService, Depends(files_service)]


@router.post("", summary="Upload a file", response_model=FileObject, openapi_extra=_UPLOAD_BODY)
async def create_file(request: Request, owner: Owner, files: Files) -> FileObject:
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
            files.upload, owner=owner, filename=upload.filename or "", purpose=purpose, stream=upload.file
        )


@router.get("", summary="List files")
def list_files(
    owner: Owner,
    files: Files,
    purpose: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    after: str | None = None,
    order: str = "desc",
) -> dict[str, Any]:
    page = files.list(owner=owner, purpose=purpose, limit=limit, after=after, order=order)
    data = [record.model_dump(mode="json") for record in page.data]
    return {
        "object": "list",
        "data": data,
        "has_more": page.has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


@router.get("/{file_id}", summary="Retrieve a file", response_model=FileObject)
def retrieve_file(file_id: str, owner: Owner, files: Files) -> FileObject:
    return files.get(owner=owner, file_id=file_id)


@router.get("/{file_id}/content", summary="Download a file's content")
def file_content(file_id: str, owner: Owner, files: Files) -> StreamingResponse:
    record, chunks = files.iter_content(owner=owner, file_id=file_id)
    disposition = f'attachment; filename="{record.filename}"'
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"content-length": str(record.bytes), "content-disposition": disposition},
    )


@router.delete("/{file_id}", summary="Delete a file")
def delete_file(file_id: str, owner: Owner, files: Files) -> dict[str, Any]:
    record = files.delete(owner=owner, file_id=file_id)
    return {"id": record.id, "object": "file", "deleted": True}
