"""Moving aliases only to models their owner can use: setting, job-driven moves and rollback over the history."""

from __future__ import annotations

from collections.abc import Callable

from shared.aliases import HISTORY_KEPT, PREFIX, AliasRecord, AliasStore, ChangeReason, alias_name, is_alias
from shared.errors import FailedPrecondition, invalid_field
from shared.model_registry import ModelRegistry, model_not_found


class Aliases:
    """An owner's aliases, each pointing at a base or fine-tuned model the owner may use (never another alias)."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self.store: AliasStore = registry.aliases

    def check_target(self, owner: str, model: str, param: str = "model") -> None:
        """Refuse a target that is an alias or that `owner` cannot use (another owner's model reads as missing)."""
        if is_alias(model):
            raise invalid_field(param, model, "a base or fine-tuned model, not another alias")
        if self.registry.resolve(model, owner) is None:
            raise model_not_found(model, param)

    def point(
        self,
        owner: str,
        name: str,
        model: str,
        *,
        reason: ChangeReason = "set",
        job_id: str | None = None,
        unless: Callable[[AliasRecord | None], str | None] | None = None,
    ) -> AliasRecord:
        """Point the alias `name` (created if new) at `model`; `unless` as for `AliasStore.move`."""
        name = alias_name(name, "name")
        self.check_target(owner, model)
        return self.store.move(owner, name, model, reason=reason, job_id=job_id, unless=unless)

    def rollback(self, owner: str, name: str, to: str | None = None) -> AliasRecord:
        """Move the alias back: to the model before its latest move, or to `to`, a model it pointed at before."""
        current = self.store.require(owner, alias_name(name, "name"), param="name")
        history = self.store.history(owner, current.name, HISTORY_KEPT)
        if to is None:
            to = history[0].previous if history else None
            if to is None:
                raise FailedPrecondition(
                    f"name: {current.id} has pointed only at {current.model}; there is nothing to roll back to",
                    param="name",
                    code="alias_no_history",
                )
        else:
            earlier = {c.model for c in history} - {current.model}
            if to not in earlier:
                known = ", ".join(sorted(earlier)) or "none"
                raise invalid_field("model", to, f"a model {current.id} pointed at before (earlier: {known})")
        self.check_target(owner, to)

        def moved_meanwhile(now: AliasRecord | None) -> str | None:
            if now is not None and now.model == current.model:
                return None
            return f"{PREFIX}{current.name} was moved while rolling back; read it again and retry"

        return self.store.move(owner, current.name, to, reason="rollback", unless=moved_meanwhile)
