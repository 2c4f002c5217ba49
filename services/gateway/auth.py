"""API-key authentication: `Authorization: Bearer <key>` → the key's owner."""

from __future__ import annotations

import hmac

from fastapi import Request

from shared.errors import Unauthenticated


class KeyRing:
    """The configured API keys and their owners."""

    def __init__(self, key_owners: dict[str, str]) -> None:
        self._keys = [(key.encode(), owner) for key, owner in key_owners.items()]

    def owner_of(self, key: str) -> str | None:
        candidate = key.encode()
        found = None
        for known, owner in self._keys:  # compare with every key, in constant time each
            if hmac.compare_digest(known, candidate):
                found = owner
        return found


def current_owner(request: Request) -> str:
    """FastAPI dependency: the owner of the request's API key, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated(
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.", code="missing_api_key"
        )
    keyring: KeyRing = request.app.state.keyring
    owner = keyring.owner_of(key.strip())
    if owner is None:
        raise Unauthenticated("Incorrect API key provided.", code="invalid_api_key")
    request.state.owner = owner
    return owner
