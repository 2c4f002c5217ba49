"""Which base model and adapter a model name means, for whom; one base model in memory, adapters cached."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.inference.engine import Embeddings, Engine, GenerationRequest, RequestHandle
from services.inference.engine.api import TokenLogprob, TokenSpans, validate_request
from services.inference.word_embeddings import WordEmbedder, WordModelSpec, installed_models
from shared.errors import InvalidArgument, PermissionDenied, Unavailable
from shared.model_registry import BaseModelRecord, ModelRegistry, model_not_found

logger = logging.getLogger(__name__)

EngineFactory = Callable[[Path], Engine]


@dataclass(frozen=True)
class Resolved:
    """The base model and (optional) adapter a model name stands for."""

    base: BaseModelRecord
    adapter: str | None


@dataclass(frozen=True)
class ModelEntry:
    """A model this service can serve, as ListModels reports it."""

    id: str
    kind: str  # "base" | "adapter" | "alias" | "embedding"
    parent: str | None
    owned_by: str
    created: int
    context_length: int | None


@dataclass(frozen=True)
class ServiceStatus:
    """What the service holds now: its base model, one owner's cached adapters (name → pinned) and its queue."""

    base_model: str | None
    adapters: dict[str, bool]
    cache_size: int
    active_requests: int
    queued_requests: int


class ModelManager:
    """Resolves names with owner checks and keeps one engine (one base model) loaded at a time.

    A request for another base switches the engine once the current one's requests have finished; requests
    arriving meanwhile wait for the switch. Word-embedding models (`word_models`) answer embeddings beside the
    loaded base, each loaded on first use.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        cache_dir: Path,
        allowed: set[str],
        factory: EngineFactory,
        *,
        switch_timeout_s: float = 120.0,
        word_models: dict[str, WordModelSpec] | None = None,
    ) -> None:
        self.registry = registry
        self.cache_dir = cache_dir
        self.allowed = allowed
        self.factory = factory
        self.switch_timeout_s = switch_timeout_s
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self.adapter_hits = 0  # requests whose adapter was already loaded
        self.adapter_misses = 0  # ... and those that had to load it first
        self._base: str | None = None  # the loaded base model's key (owners' models may share a name)
        self._base_name: str | None = None
        self.word_models = installed_models() if word_models is None else word_models
        self._embedders: dict[str, WordEmbedder] = {}

    def _check_allowed(self, base: str, model: str) -> None:
        if self.allowed and base not in self.allowed:
            raise PermissionDenied(
                f"model: {model!r} (base {base!r}) is not served here; allowed base models: "
                f"{', '.join(sorted(self.allowed))}",
                param="model",
                code="model_not_allowed",
            )

    def resolve(self, owner: str, model: str) -> Resolved:
        if model in self.word_models:
            raise InvalidArgument(
                f"model: {model!r} is an embeddings model; it only answers /v1/embeddings", param="model"
            )
        ref = self.registry.resolve(model, owner)
        if ref is None:
            raise model_not_found(model)
        self._check_allowed(ref.base_name, model)
        return Resolved(ref.base, None if ref.adapter is None else ref.adapter.name)

    def engine(self, base: BaseModelRecord) -> Engine:
        with self._lock:
            if self._engine is not None and self._base == base.key:
                return self._engine
            if self._engine is not None:
                logger.warning("switching base model", extra={"from": self._base, "to": base.key})
                self._drain(self._engine)
                self._engine.close()
                self._engine = None
            path = self.registry.fetch_record(base, self.cache_dir)
            self._engine = self.factory(path)
            self._base = base.key
            self._base_name = base.name
            return self._engine

    def _drain(self, engine: Engine) -> None:
        """Let the old base's running requests finish (up to `switch_timeout_s`; the rest end `cancelled`)."""
        deadline = time.monotonic() + self.switch_timeout_s
        while engine.active_requests() and time.monotonic() < deadline:
            time.sleep(0.02)
        if engine.active_requests():
            logger.warning(
                "base switch: cancelling requests still running",
                extra={"requests": engine.active_requests(), "timeout_s": self.switch_timeout_s},
            )

    def prepare(self, owner: str, model: str, *, pin: bool = False) -> tuple[Engine, Resolved]:
        """The engine for `model` with its adapter (if any) loaded from storage on first use."""
        resolved = self.resolve(owner, model)
        engine = self.engine(resolved.base)
        if resolved.adapter and resolved.adapter not in engine.loaded_adapters():
            self.adapter_misses += 1
            record = self.registry.get_adapter(resolved.adapter, owner=owner)
            engine.load_adapter(resolved.adapter, self.registry.fetch_adapter(record, self.cache_dir), pin=pin)
        elif resolved.adapter:
            self.adapter_hits += 1
            if pin:
                engine.pin(resolved.adapter, True)
        return engine, resolved

    def submit(self, owner: str, model: str, build: Callable[[Resolved], GenerationRequest]) -> RequestHandle:
        """Start a generation on `model`; it counts as running before a switch to another base could close it."""
        for _ in range(3):
            engine, resolved = self.prepare(owner, model)
            with self._lock:
                if engine is self._engine:
                    return engine.submit(build(resolved))
        raise Unavailable(f"model: the base model of {model!r} was switched away repeatedly; try again", param="model")

    def prompt_logprobs(
        self, owner: str, model: str, build: Callable[[Resolved], GenerationRequest]
    ) -> tuple[list[int], list[TokenLogprob]]:
        """The prompt's ids and log-probabilities under `model` (its adapter loaded first)."""
        engine, resolved = self.prepare(owner, model)
        request = build(resolved)
        validate_request(request, engine.max_n)
        return engine.prompt_logprobs(request)

    def embed(
        self, owner: str, model: str, inputs: Sequence[str | Sequence[int]], dimensions: int | None
    ) -> Embeddings:
        """Vectors of `inputs` from `model` (its adapter loaded first, like a generation's)."""
        if model in self.word_models:
            return self._embedder(model).embed(inputs, dimensions)
        engine, resolved = self.prepare(owner, model)
        return engine.embed(inputs, adapter=resolved.adapter, dimensions=dimensions)

    def tokenize(self, owner: str, model: str, text: str) -> TokenSpans:
        """`text`'s tokens under `model`'s tokenizer (a fine-tuned model's is its base's)."""
        if model in self.word_models:
            return self._embedder(model).tokenize(text)
        engine, _resolved = self.prepare(owner, model)
        return engine.tokenize(text)

    def _embedder(self, name: str) -> WordEmbedder:
        with self._lock:
            if name not in self._embedders:
                spec = self.word_models[name]
                files = spec.files()
                if files is None:
                    raise Unavailable(f"model: {name!r} needs the package {spec.package!r}, not installed here")
                self._embedders[name] = WordEmbedder(spec, *files)
            return self._embedders[name]

    def loaded_engine(self, base: BaseModelRecord) -> Engine | None:
        """The engine if `base` is the base model in memory now (never loads or switches)."""
        with self._lock:
            return self._engine if self._base == base.key else None

    def status(self, owner: str) -> ServiceStatus:
        """The loaded base, `owner`'s adapters in the cache (another owner's are only counted), the queue."""
        current = self.current()
        if current is None:
            return ServiceStatus(None, {}, 0, 0, 0)
        base, engine = current
        loaded, pinned = engine.loaded_adapters(), set(engine.pinned_adapters())
        owned = {a.name for a in self.registry.list_adapters(owner)}
        stats = engine.stats()
        return ServiceStatus(
            base_model=base,
            adapters={name: name in pinned for name in loaded if name in owned or name.split(":ckpt-")[0] in owned},
            cache_size=len(loaded),
            active_requests=engine.active_requests(),
            queued_requests=stats.queued,
        )

    def unload(self, owner: str, model: str) -> Resolved:
        resolved = self.resolve(owner, model)
        if (
            resolved.adapter
            and self._engine is not None
            and self._base == resolved.base.key
            and resolved.adapter in self._engine.loaded_adapters()
        ):
            self._engine.unload_adapter(resolved.adapter)
        return resolved

    def current(self) -> tuple[str, Engine] | None:
        """The base model loaded now and its engine, if any."""
        with self._lock:
            return None if self._engine is None or self._base_name is None else (self._base_name, self._engine)

    def list_models(self, owner: str) -> list[ModelEntry]:
        bases = [b for b in self.registry.list_visible(owner) if not self.allowed or b.name in self.allowed]
        entries = [ModelEntry(b.name, "base", None, b.owned_by, b.created, b.context_length) for b in bases]
        names = {b.name for b in bases}
        entries += [
            ModelEntry(a.name, "adapter", a.base_model, a.owner, a.created, None)
            for a in self.registry.list_adapters(owner)
            if a.base_model in names
        ]
        served = {e.id for e in entries}
        entries += [
            ModelEntry(a.id, "alias", a.model, a.owner, a.updated_at, None)
            for a in self.registry.aliases.list(owner)
            if a.model in served
        ]
        entries += [
            ModelEntry(name, "embedding", None, "system", _file_time(spec), spec.context_length)
            for name, spec in self.word_models.items()
        ]
        return entries

    def close(self) -> None:
        with self._lock:
            for embedder in self._embedders.values():
                embedder.close()
            self._embedders.clear()
            if self._engine is not None:
                self._engine.close()
                self._engine = None


def _file_time(spec: WordModelSpec) -> int:
    files = spec.files()
    return int(files[0].stat().st_mtime) if files else 0
