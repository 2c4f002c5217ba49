"""OpenAI's error body for every error a route raises (statuses from `error_mapping`)."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.gateway.error_mapping import http_status_for, invalid_argument
from shared import errors

logger = logging.getLogger(__name__)

UNAVAILABLE_RETRY_S = 2


def error_response(error: errors.DistrustError) -> JSONResponse:
    """OpenAI's error body with the error's status (and the Bearer challenge on a 401)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, errors.Unauthenticated) else None
    if isinstance(error, errors.RateLimited):
        headers = {**error.headers, "Retry-After": str(max(1, math.ceil(error.retry_after_s)))}
    elif isinstance(error, errors.Unavailable):
        headers = {"Retry-After": str(UNAVAILABLE_RETRY_S)}  # the supervisor restarts a backend in seconds
    return JSONResponse({"error": error.to_dict()}, status_code=http_status_for(error), headers=headers)


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
        return error_response(invalid_argument(first))

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
