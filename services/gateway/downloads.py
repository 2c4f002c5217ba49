"""The `content-disposition` of a download: any file name, safely quoted (RFC 6266 with RFC 5987's `filename*`)."""

from __future__ import annotations

import re
from urllib.parse import quote

_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')


def attachment(filename: str) -> str:
    """`attachment; filename="…"` with an ASCII fallback, plus the exact UTF-8 name when it is not plain ASCII."""
    fallback = _UNSAFE.sub("_", filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
