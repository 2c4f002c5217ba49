"""Several inference replicas behind one gateway, routed by (base, adapter) affinity.

Each model key (its base and adapter: an alias and its target share one) ranks the replicas by rendezvous
hashing, so requests for one adapter go to the replica that already holds it and removing a replica moves only
its own keys. A replica busier than the least busy one by more than `slack` hands its turn to the next in rank
(load from each replica's GetStatus, polled with the health check). A replica that fails a health check or a
call with UNAVAILABLE leaves the ranking until a check passes again; a request it failed before any output is
retried on the next replica.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from services.gateway.inference_client import Generations, InferenceClient
from services.gateway.schemas.chat import ChatCompletionRequest
from services.gateway.schemas.completions import CompletionRequest
from services.gateway.schemas.embeddings import EmbeddingRequest
from services.gateway.schemas.models import InferenceState, Model, ModelLoad
from shared.errors import DistrustError, Unavailable
from shared.model_registry import ModelRegistry
from shared.pb.distrust.inference.v1 import inference_pb2 as pb
from shared.rpc.client import targets_of

__all__ = ["InferenceRouter", "Replica", "affinity_key", "targets_of"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
KeyOf = Callable[[str, str], str]  # (owner, model) -> the affinity key


@dataclass
class Replica:
    """One inference service: its client, whether it answers, and its requests in flight as last seen."""

    target: str
    client: InferenceClient
    healthy: bool = True
    load: int = 0


class InferenceRouter:
    """The inference client of the gateway: one or several replicas, each request on its key's replica."""

    def __init__(
        self,
        targets: Sequence[str],
        *,
        key_of: KeyOf | None = None,
        priority: pb.Priority = pb.PRIORITY_INTERACTIVE,
        slack: int = 4,
        health_interval_s: float = 1.0,
    ) -> None:
        if not targets:
            raise ValueError("at least one inference target")
        self.replicas = [Replica(t, InferenceClient(t, priority=priority)) for t in targets]
        self.key_of = key_of or (lambda _owner, model: model)
        self.slack = slack
        self.health_interval_s = health_interval_s
        self._watch: asyncio.Task[None] | None = None

    def ranked(self, key: str) -> list[Replica]:
        """The healthy replicas in `key`'s rendezvous order (every replica, in order, when none is healthy)."""
        order = sorted(self.replicas, key=lambda r: hashlib.sha256(f"{r.target}|{key}".encode()).digest(), reverse=True)
        return [r for r in order if r.healthy] or order

    def pick(self, owner: str, model: str) -> list[Replica]:
        """The replicas to try for `model`, first choice first: its own unless that one is much busier."""
        ranked = self.ranked(self.key_of(owner, model))
        least = min(r.load for r in ranked)
        fitting = [r for r in ranked if r.load <= least + self.slack]
        return fitting + [r for r in ranked if r not in fitting]

    async def _on(self, owner: str, model: str, call: Callable[[InferenceClient], Awaitable[T]]) -> T:
        """`call` on the model's replica; on UNAVAILABLE, that replica leaves the ranking and the next one answers."""
        last: Unavailable | None = None
        for replica in self.pick(owner, model):
            try:
                return await call(replica.client)
            except Unavailable as exc:
                if len(self.replicas) == 1:
                    raise
                replica.healthy = False
                logger.warning("inference replica failed; trying the next", extra={"replica": replica.target})
                last = exc
        raise last or Unavailable("inference: no replica answered", param="model")

    async def generate(
        self, owner: str, body: ChatCompletionRequest | CompletionRequest, *, request_id: str = ""
    ) -> Generations:
        """Start a generation on the model's replica (its first answer awaited, so a dead replica is skipped)."""
        return await self._on(owner, body.model, lambda c: c.generate(owner, body, request_id=request_id))

    async def embed(self, owner: str, body: EmbeddingRequest) -> tuple[list[list[float]], int]:
        return await self._on(owner, body.model, lambda c: c.embed(owner, body))

    async def embed_inputs(
        self, owner: str, model: str, items: Sequence[str | Sequence[int]], dimensions: int | None = None
    ) -> tuple[list[list[float]], int]:
        return await self._on(owner, model, lambda c: c.embed_inputs(owner, model, items, dimensions))

    async def tokenize(self, owner: str, model: str, text: str) -> tuple[list[tuple[int, int]], int]:
        return await self._on(owner, model, lambda c: c.tokenize(owner, model, text))

    async def load(self, owner: str, model: str, *, pin: bool) -> ModelLoad:
        return await self._on(owner, model, lambda c: c.load(owner, model, pin=pin))

    async def models(self, owner: str) -> list[Model]:
        """The union of the healthy replicas' models (each id once)."""
        live = [r for r in self.replicas if r.healthy] or self.replicas
        answers = await asyncio.gather(*(r.client.models(owner) for r in live), return_exceptions=True)
        merged: dict[str, Model] = {}
        for answer in answers:
            if isinstance(answer, BaseException):
                continue
            for model in answer:
                merged.setdefault(model.id, model)
        if not merged and all(isinstance(a, BaseException) for a in answers):
            error = answers[0]
            raise error if isinstance(error, Exception) else Unavailable("inference: no replica answered")
        return list(merged.values())

    async def status(self, owner: str) -> InferenceState:
        """All replicas together: the first's base model, every cached adapter of the owner, the summed queues."""
        states = list(await asyncio.gather(*(r.client.status(owner) for r in self.replicas if r.healthy)))
        if not states:
            raise Unavailable("inference: no replica is healthy", param="model")
        adapters: dict[str, bool] = {}
        for state in states:
            adapters.update(state.adapters)
        return InferenceState(
            base_model=next((s.base_model for s in states if s.base_model), None),
            adapters=adapters,
            cache_size=sum(s.cache_size for s in states),
            cache_capacity=sum(s.cache_capacity for s in states),
            active_requests=sum(s.active_requests for s in states),
            queued_requests=sum(s.queued_requests for s in states),
        )

    async def check(self) -> None:
        """Ask every replica for its status: who answers, and how many requests each has in flight."""

        async def one(replica: Replica) -> None:
            try:
                state = await asyncio.wait_for(replica.client.status(""), timeout=max(self.health_interval_s, 1.0))
            except (DistrustError, TimeoutError, OSError) as exc:
                if replica.healthy:
                    logger.warning("inference replica down", extra={"replica": replica.target, "error": str(exc)})
                replica.healthy = False
                return
            if not replica.healthy:
                logger.info("inference replica back", extra={"replica": replica.target})
            replica.healthy, replica.load = True, state.active_requests

        await asyncio.gather(*(one(r) for r in self.replicas))

    def start(self) -> None:
        """Check the replicas every `health_interval_s` while the app serves (nothing to do for one replica)."""
        if len(self.replicas) > 1 and self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._watch_loop())

    async def _watch_loop(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                logger.exception("inference health check failed")
            await asyncio.sleep(self.health_interval_s)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        for replica in self.replicas:
            await replica.client.close()


def affinity_key(registry: ModelRegistry) -> KeyOf:
    """A model's key: its base and adapter (an alias and what it points at share one); the name if unknown."""

    def key(owner: str, model: str) -> str:
        try:
            ref = registry.resolve(model, owner)
        except DistrustError:
            return model
        if ref is None:
            return model
        return f"{ref.base.key}|{ref.adapter.name if ref.adapter else ''}"

    return key
