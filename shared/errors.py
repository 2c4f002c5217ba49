"""Typed errors shared by every service.

Domain code raises these; they are translated to gRPC status codes in `shared.rpc.status` and to HTTP
status codes with an OpenAI-style body in `services.gateway.errors`, each in exactly one place.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ErrorBody(TypedDict):
    """The `error` object of an OpenAI-style error response."""

    message: str
    type: str
    param: str | None
    code: str


class DistrustError(Exception):
    """Base of every error that crosses a service boundary.

    `type` and `code` follow OpenAI's error body (`{"error": {"message", "type", "param", "code"}}`);
    `param` names the offending field when there is one.
    """

    type: str = "server_error"
    default_code: str = "internal_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code

    def to_dict(self) -> ErrorBody:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, param={self.param!r}, code={self.code!r})"


class InvalidArgument(DistrustError):
    """A request field has a bad value; the message names the field and the value."""

    type = "invalid_request_error"
    default_code = "invalid_value"


class Unauthenticated(DistrustError):
    """No valid API key came with the request."""

    type = "authentication_error"
    default_code = "invalid_api_key"


class PermissionDenied(DistrustError):
    """The caller may not use this resource (e.g. another owner's job or model)."""

    type = "permission_error"
    default_code = "permission_denied"


class NotFound(DistrustError):
    """The named resource (file, job, model, adapter) does not exist for this caller."""

    type = "invalid_request_error"
    default_code = "not_found"


class AlreadyExists(DistrustError):
    """A resource with this name or id exists already."""

    type = "invalid_request_error"
    default_code = "already_exists"


class FailedPrecondition(DistrustError):
    """The request is valid but the current state forbids it (e.g. cancelling a finished job)."""

    type = "invalid_request_error"
    default_code = "failed_precondition"


class PayloadTooLarge(DistrustError):
    """An upload or request body is larger than the limit."""

    type = "invalid_request_error"
    default_code = "payload_too_large"


class ResourceExhausted(DistrustError):
    """Not enough memory, quota or capacity to do the work."""

    type = "insufficient_resources"
    default_code = "resource_exhausted"


class RateLimited(ResourceExhausted):
    """A key (or the deployment) is over a rate or concurrency limit: retry after `retry_after_s` seconds."""

    type = "requests"
    default_code = "rate_limit_exceeded"

    def __init__(
        self, message: str, *, retry_after_s: float, kind: str = "requests", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.type = kind  # OpenAI's 429s say which limit: "requests" or "tokens"
        self.headers = headers or {}  # the key's x-ratelimit-* values


class QuotaExceeded(ResourceExhausted):
    """A key's owner (or the deployment) holds as much as its limit allows: free some before adding more."""

    type = "insufficient_quota"
    default_code = "insufficient_quota"


class Unavailable(DistrustError):
    """A backend (storage, Redis, a gRPC service) cannot be reached."""

    type = "service_unavailable"
    default_code = "unavailable"


class Cancelled(DistrustError):
    """The work was cancelled before it finished."""

    type = "cancelled"
    default_code = "cancelled"


class InternalError(DistrustError):
    """A bug or an unexpected failure inside a service."""

    type = "server_error"
    default_code = "internal_error"


class ConfigError(DistrustError):
    """Settings are missing or invalid; raised at start-up, never at request time."""

    type = "configuration_error"
    default_code = "bad_configuration"


def invalid_field(field: str, value: Any, expected: str) -> InvalidArgument:
    """Build the standard 'field has a bad value' error: names the field, the value and what is allowed."""
    return InvalidArgument(f"{field}: got {shown(value)}, expected {expected}", param=field)


def shown(value: Any, limit: int = 80) -> str:
    """A value's repr cut to `limit` characters, so an error never echoes a huge input back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
