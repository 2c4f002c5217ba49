"""The one mapping between `shared.errors` and gRPC status codes, both ways, and the server's error interceptor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from shared import errors
from shared.log import log_context

logger = logging.getLogger(__name__)

_TO_GRPC: dict[type[errors.DistrustError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PayloadTooLarge: grpc.StatusCode.OUT_OF_RANGE,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.Cancelled: grpc.StatusCode.CANCELLED,
    errors.InternalError: grpc.StatusCode.INTERNAL,
    errors.ConfigError: grpc.StatusCode.INTERNAL,
}
_FROM_GRPC: dict[grpc.StatusCode, type[errors.DistrustError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.OUT_OF_RANGE: errors.PayloadTooLarge,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.Unavailable,
    grpc.StatusCode.CANCELLED: errors.Cancelled,
    grpc.StatusCode.UNIMPLEMENTED: errors.FailedPrecondition,
}
_META_CODE = "distrust-error-code"
_META_PARAM = "distrust-error-param"
REQUEST_ID_KEY = "x-request-id"


def grpc_code_for(error: errors.DistrustError) -> grpc.StatusCode:
    """The gRPC status code for `error`: its own class's, else its nearest base class's, else INTERNAL."""
    for cls in type(error).__mro__:
        if cls in _TO_GRPC:
            return _TO_GRPC[cls]
    return grpc.StatusCode.INTERNAL


def error_from_rpc(exc: grpc.RpcError, *, service: str) -> errors.DistrustError:
    """Rebuild the typed error a service raised, from the status and trailing metadata of a failed call."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    trailing = dict(exc.trailing_metadata() or ()) if hasattr(exc, "trailing_metadata") else {}
    cls = _FROM_GRPC.get(code, errors.InternalError)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and _META_CODE not in trailing:
        return errors.Unavailable(f"the {service} service is unavailable: {details}", code=f"{service}_unavailable")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return errors.FailedPrecondition(
            f"the {service} service does not implement this call yet: {details}", code="not_implemented"
        )
    return cls(
        details or f"{service} call failed ({code.name})",
        param=trailing.get(_META_PARAM) or None,
        code=trailing.get(_META_CODE) or None,
    )


def _abort(context: grpc.ServicerContext, exc: BaseException, method: str) -> None:
    if isinstance(exc, errors.DistrustError):
        code = grpc_code_for(exc)
        level = logging.ERROR if code == grpc.StatusCode.INTERNAL else logging.INFO
        logger.log(
            level, "rpc failed", extra={"method": method, "status": code.name, "error": exc.message, "param": exc.param}
        )
        context.set_trailing_metadata(((_META_CODE, exc.code), (_META_PARAM, exc.param or "")))
        context.abort(code, exc.message)
    logger.exception("rpc crashed", extra={"method": method})
    context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}: {type(exc).__name__}")


def _request_id(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY:
            return str(value)
    return None


class ErrorInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type stubs
    """Turns `DistrustError`s into status codes with field details, and crashes into INTERNAL, for every RPC."""

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if handler.unary_unary:
            return handler._replace(unary_unary=_wrap_unary(handler.unary_unary, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=_wrap_unary(handler.stream_unary, method))
        if handler.unary_stream:
            return handler._replace(unary_stream=_wrap_stream(handler.unary_stream, method))
        if handler.stream_stream:
            return handler._replace(stream_stream=_wrap_stream(handler.stream_stream, method))
        return handler


def _wrap_unary(fn: Callable[[Any, grpc.ServicerContext], Any], method: str) -> Callable[..., Any]:
    def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
        with log_context(request_id=_request_id(context), method=method):
            try:
                return fn(request, context)
            except Exception as exc:
                if _is_abort(exc):
                    raise
                _abort(context, exc, method)

    return wrapper


def _wrap_stream(fn: Callable[[Any, grpc.ServicerContext], Iterator[Any]], method: str) -> Callable[..., Any]:
    def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        with log_context(request_id=_request_id(context), method=method):
            try:
                yield from fn(request, context)
            except Exception as exc:
                if _is_abort(exc):
                    raise
                _abort(context, exc, method)

    return wrapper


def _is_abort(exc: BaseException) -> bool:
    # context.abort() raises a bare Exception after the status is set; let it through untouched.
    return type(exc) is Exception and not exc.args
