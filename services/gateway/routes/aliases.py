"""Model aliases (ours; OpenAI has none): set, read, list, roll back and delete `ft:alias:NAME`."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.deps import AliasesDep, Owner
from services.gateway.schemas.aliases import Alias, AliasDeleted, RollbackAlias, SetAlias
from services.gateway.schemas.common import ListResponse
from shared.aliases import alias_name

router = APIRouter(prefix="/v1/aliases", tags=["aliases"])


@router.get("", summary="List your model aliases", response_model=ListResponse[Alias])
def list_aliases(owner: Owner, aliases: AliasesDep) -> ListResponse[Alias]:
    """Every alias of the caller, by name."""
    return ListResponse[Alias](data=[Alias.of(record) for record in aliases.store.list(owner)])


@router.put("/{name}", summary="Point an alias at a model (created if new)", response_model=Alias)
def set_alias(name: str, body: SetAlias, owner: Owner, aliases: AliasesDep) -> Alias:
    """Move the alias to a base or fine-tuned model of the caller; the move is kept in its history."""
    record = aliases.point(owner, name, body.model)
    return Alias.of(record, aliases.store.history(owner, record.name))


@router.get("/{name}", summary="An alias with its latest moves", response_model=Alias)
def get_alias(name: str, owner: Owner, aliases: AliasesDep) -> Alias:
    """The alias, what it points at, and its history (newest first)."""
    record = aliases.store.require(owner, alias_name(name, "name"), param="name")
    return Alias.of(record, aliases.store.history(owner, record.name))


@router.post("/{name}/rollback", summary="Move an alias back", response_model=Alias)
def rollback_alias(name: str, owner: Owner, aliases: AliasesDep, body: RollbackAlias | None = None) -> Alias:
    """Back to the model before the latest move, or to `model` if it pointed there before."""
    record = aliases.rollback(owner, name, body.model if body else None)
    return Alias.of(record, aliases.store.history(owner, record.name))


@router.delete("/{name}", summary="Delete an alias", response_model=AliasDeleted)
def delete_alias(name: str, owner: Owner, aliases: AliasesDep) -> AliasDeleted:
    """Remove the alias and its history; the models stay."""
    record = aliases.store.require(owner, alias_name(name, "name"), param="name")
    aliases.store.delete(owner, record.name)
    return AliasDeleted(id=record.id)
