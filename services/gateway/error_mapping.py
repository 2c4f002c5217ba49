"""The one mapping from `shared.errors` to HTTP status codes, and from pydantic's errors to `InvalidArgument`.

No web framework here: the routes' error handlers and the batch runner (a batch line's `response.status_code`) share it.
"""

from __future__ import annotations

import re
from typing import Any

from shared import errors

_UNION_TAG = re.compile(r"^(str|int|float|bool|list\[.*\]|dict\[.*\]|[\w-]+\[.*\])$")
HTTP_STATUS: dict[type[errors.DistrustError], int] = {
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.FailedPrecondition: 409,
    errors.PayloadTooLarge: 413,
    errors.ResourceExhausted: 400,  # a job that cannot fit will not fit later either: not a rate limit
    errors.RateLimited: 429,
    errors.QuotaExceeded: 429,
    errors.Cancelled: 499,
    errors.InternalError: 500,
    errors.ConfigError: 500,
    errors.Unavailable: 503,
}


def http_status_for(error: errors.DistrustError) -> int:
    """The HTTP status of the error's class, or of its nearest mapped base class."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def param_path(loc: tuple[object, ...]) -> str | None:
    """('body', 'documents', 3, 'text') → 'documents[3].text'."""
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not path:
            continue
        if isinstance(part, str) and _UNION_TAG.match(part):
            continue  # pydantic names the union member it tried ("list[int]"), which is no field
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str):
            path += f".{part}" if path else part
    return path or None


def invalid_argument(error: Any, *, prefix: str = "") -> errors.InvalidArgument:  # pydantic's ErrorDetails
    """One pydantic error as `InvalidArgument` naming the field (`prefix` + its path) and the value."""
    param = param_path(error.get("loc", ()))
    param = f"{prefix}.{param}" if prefix and param else (prefix or param)
    value = error.get("input")
    message = f"{param or 'request'}: {error.get('msg', 'invalid value')}"
    if value is not None and not isinstance(value, dict | list):
        message += f" (got {errors.shown(value)})"
    return errors.InvalidArgument(message, param=param)
