"""Model aliases over HTTP: a stable `ft:alias:NAME` per owner, its target, and its history of moves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.common import Identifier
from shared.aliases import AliasChange, AliasRecord
from shared.schemas.request import RequestModel


class SetAlias(RequestModel):
    """Point the alias at a base or fine-tuned model of yours (created if new)."""

    model: Identifier


class RollbackAlias(RequestModel):
    """Without `model`: back to the model before the latest move; with it: to a model it pointed at before."""

    model: Identifier | None = None


class Alias(BaseModel):
    """An alias: pass its `id` as `model` anywhere; it serves whatever `model` it points at now."""

    id: str = Field(description="ft:alias:NAME")
    object: Literal["model.alias"] = "model.alias"
    name: str
    model: str = Field(description="The model it points at now")
    created_at: int
    updated_at: int
    history: list[AliasChange] = Field(default_factory=list, description="Its latest moves, newest first")

    @classmethod
    def of(cls, record: AliasRecord, history: list[AliasChange] | None = None) -> Alias:
        return cls(
            id=record.id,
            name=record.name,
            model=record.model,
            created_at=record.created_at,
            updated_at=record.updated_at,
            history=history or [],
        )


class AliasDeleted(BaseModel):
    """What deleting an alias returns (the models it pointed at stay)."""

    id: str
    object: Literal["model.alias.deleted"] = "model.alias.deleted"
    deleted: bool = True
