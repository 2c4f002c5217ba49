"""Managed API keys (admin scope): create (the secret shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from services.gateway.auth import require
from services.gateway.deps import KeysDep, Owner
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.keys import ApiKey, ApiKeyDeleted, CreateApiKey, CreatedApiKey

router = APIRouter(prefix="/v1/api_keys", tags=["api keys"], dependencies=[require("admin")])


@router.post("", summary="Create an API key; its secret `value` is in this answer only")
async def create_key(body: CreateApiKey, keys: KeysDep, owner: Owner) -> CreatedApiKey:
    """A new key for the body's owner (default: the caller's), with the scopes asked for."""
    return await run_in_threadpool(keys.create, owner, body)


@router.get("", summary="List the deployment's managed API keys, newest first (no secrets)")
async def list_keys(keys: KeysDep, owner: str | None = None) -> ListResponse[ApiKey]:
    """Every managed key, or one owner's."""
    data = await run_in_threadpool(keys.list, owner)
    return ListResponse(data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None)


@router.delete("/{key_id}", summary="Revoke an API key; every gateway replica refuses it within a second")
async def revoke_key(key_id: str, keys: KeysDep) -> ApiKeyDeleted:
    """Delete the key's record and hash."""
    revoked = await run_in_threadpool(keys.revoke, key_id, None)
    return ApiKeyDeleted(id=revoked.id)
