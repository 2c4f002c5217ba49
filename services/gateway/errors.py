"""The one mapping from `shared.errors` to HTTP status codes and OpenAI's error body."""

from __future__ import annotations

import logging
import math
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import errors

logger = logging.getLogger(__name__)

_UNION_TAG = re.compile(r"^(str|int|float|bool|list\[.*\]|dict\[.*\]|[\w-]+\[.*\])$")
UNAVAILABLE_RETRY_S = 2
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


def error_response(error: errors.DistrustError) -> JSONResponse:
    """OpenAI's error body with the error's status (and the Bearer challenge on a 401)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, errors.Unauthenticated) else None
    if isinstance(error, errors.RateLimited):
        headers = {**error.headers, "Retry-After": str(max(1, math.ceil(error.retry_after_s)))}
    elif isinstance(error, errors.Unavailable):
        headers = {"Retry-After": str(UNAVAILABLE_RETRY_S)}  # the supervisor restarts a backend in seconds
    return JSONResponse({"error": error.to_dict()}, status_code=http_status_for(error), headers=headers)


def _param_path(loc: tuple[object, ...]) -> str | None:
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


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error, ours, FastAPI's and unexpected ones, with OpenAI's error body."""

    @app.exception_handler(errors.DistrustError)
    async def _distrust(_request: Request, exc: errors.DistrustError) -> JSONResponse:
        if http_status_for(exc) >= 500:
            logger.error("request failed", extra={"error": exc.message, "code": exc.code})
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            reason = first.get("ctx", {}).get("error", "invalid JSON")
            return error_response(errors.InvalidArgument(f"The request body is not valid JSON: {reason}"))
        param = _param_path(first.get("loc", ()))
        value = first.get("input")
        message = f"{param or 'request'}: {first.get('msg', 'invalid value')}"
        if value is not None and not isinstance(value, dict | list):
            message += f" (got {errors.shown(value)})"
        return error_response(errors.InvalidArgument(message, param=param))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: errors.NotFound, 405: errors.InvalidArgument, 401: errors.Unauthenticated}.get(
            exc.status_code, errors.InvalidArgument
        )
        body = kind(str(exc.detail)).to_dict()
        return JSONResponse({"error": body}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(errors.InternalError(f"internal error: {type(exc).__name__}"))
