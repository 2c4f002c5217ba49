"""The files domain: uploads validated per purpose, content in object storage, records in Redis."""

from shared.files.models import FileObject, Purpose
from shared.files.service import FileService

__all__ = ["FileObject", "FileService", "Purpose"]
