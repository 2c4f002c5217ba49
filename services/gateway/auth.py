"""API keys: `Authorization: Bearer <key>` → the key's principal; per router its scope and its rate limits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.keys import KeyStore, Principal
from services.gateway.limits import RateLimiter
from services.gateway.schemas.keys import Scope
from shared.errors import PermissionDenied, Unauthenticated


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: who the request's API key acts as (resolved once per request), or 401."""
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated(
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.", code="missing_api_key"
        )
    keys: KeyStore = request.app.state.keys
    principal = keys.authenticate(key.strip())
    if principal is None:
        raise Unauthenticated("Incorrect API key provided.", code="invalid_api_key")
    request.state.principal = principal
    request.state.owner = principal.owner
    return principal


def admit(request: Request, principal: Principal, *, requests: int = 0, tokens: int = 0) -> None:
    """Count the request (or its tokens) against the key's limits; the x-ratelimit headers go on the answer."""
    limiter: RateLimiter = request.app.state.limiter
    headers = limiter.admit(principal.key_id, principal.limits, requests=requests, tokens=tokens)
    request.state.ratelimit_headers = {**getattr(request.state, "ratelimit_headers", {}), **headers}


def job_slot(request: Request) -> None:
    """A dependency of the routes that queue a job: 429 when the key's owner has its limit of jobs running."""
    principal = current_principal(request)
    limiter: RateLimiter = request.app.state.limiter
    limiter.admit_job(principal.owner, principal.limits)


def current_owner(request: Request) -> str:
    """FastAPI dependency: the owner of the request's API key, or 401."""
    return current_principal(request).owner


# Declares the scheme in /openapi.json (each operation lists the scope it needs); the key is read below.
BEARER = HTTPBearer(
    auto_error=False, scheme_name="APIKey", description="`Authorization: Bearer <key>`; an operation names its scope"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def require(scope: Scope) -> Any:  # FastAPI's Security() marker, typed Any by FastAPI
    """A route or router dependency: the key must carry `scope`, else 403 naming it."""

    def check(request: Request, _credentials: Credentials) -> Principal:
        principal = current_principal(request)
        if scope not in principal.scopes:
            raise PermissionDenied(
                f"This API key lacks the {scope!r} scope (it has: {', '.join(sorted(principal.scopes))})",
                code="missing_scope",
            )
        if not getattr(request.state, "admitted", False):
            request.state.admitted = True
            admit(request, principal, requests=1)
        return principal

    return Security(check, scopes=[scope])
