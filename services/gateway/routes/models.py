"""Model files users take home: a base model, or a fine-tuned model's adapter, as a .tar.gz."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from services.gateway.auth import current_owner
from shared.archive import pack_tar_gz
from shared.storage import Bucket

router = APIRouter(prefix="/v1/models", tags=["models"])
Owner = Annotated[str, Depends(current_owner)]


@router.get("/{model:path}/archive", summary="A base model (HF layout) or an adapter as a .tar.gz",
            response_model=None)
def model_archive(model: str, request: Request, owner: Owner) -> FileResponse:
    backends = request.app.state.backends
    base = backends.registry.get_base(model)
    if base is not None:
        path = pack_tar_gz(backends.store, Bucket.MODELS, f"base/{model}", base.files, root=model)
    else:
        adapter = backends.registry.get_adapter(model, owner=owner)
        path = pack_tar_gz(backends.store, Bucket.ADAPTERS, adapter.job_id, adapter.files, root=adapter.job_id)
    safe = model.replace(":", "_").replace("/", "_")
    return FileResponse(path, media_type="application/gzip", filename=f"{safe}.tar.gz",
                        background=BackgroundTask(path.unlink, missing_ok=True))
