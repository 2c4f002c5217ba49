"""The Files API's bodies: the file record itself (one schema, owned by the files domain) and its deletion."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from shared.files.models import FileObject

__all__ = ["FileDeleted", "FileObject"]


class FileDeleted(BaseModel):
    """OpenAI's answer to deleting a file."""

    id: str
    object: Literal["file"] = "file"
    deleted: bool
