"""The web console at `/console`: a static page and its assets; it signs in with an API key and calls this API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "console" / "static"
router = APIRouter(include_in_schema=False)
assets = StaticFiles(directory=STATIC)


@router.get("/console", response_class=FileResponse)
def console() -> FileResponse:
    """The console's page; it holds no data (every call it makes needs the key the user signs in with)."""
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})
