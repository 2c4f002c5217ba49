"""Base models and fine-tuned adapters: records in Redis, files in the object store's `models` / `adapters` buckets.

A shared base model lives under `models/base/<name>/`, an owner's own (an export, a private import) under
`models/owned/<owner digest>/<name>/`: names are per owner, so another owner's models neither show nor block a
name. A fine-tuned model's adapter lives under `adapters/<job_id>/`, a checkpoint's under its prefix in
`checkpoints/`. Both the trainer and the inference service resolve model names here and cache the files locally
by fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from pydantic import BaseModel

from shared.adapter_format import ADAPTER_CONFIG, AdapterConfig, parse_adapter_config
from shared.aliases import PREFIX as ALIAS_PREFIX
from shared.aliases import AliasStore, is_alias
from shared.errors import AlreadyExists, InvalidArgument, NotFound
from shared.redis_store import KEY_PREFIX, redis_errors, text
from shared.schemas.model_import import ModelProvenance
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MODELS = f"{KEY_PREFIX}models"  # base_key -> BaseModelRecord
RESERVED = f"{KEY_PREFIX}models:reserved"  # base keys claimed by exports and imports still running: key -> holder
SYSTEM = "system"  # the owner of shared base models


def base_key(name: str, owned_by: str) -> str:
    """Where a base model is recorded: a shared one by its name, an owner's own under the owner."""
    return name if owned_by == SYSTEM else f"{owned_by}/{name}"


def _owner_digest(owner: str) -> str:
    return hashlib.sha256(owner.encode()).hexdigest()[:16]


class BaseModelRecord(BaseModel):
    """A registered base model: its files in object storage, their sha256 and what inspecting it found."""

    name: str
    created: int
    fingerprint: str
    files: dict[str, str]  # file name → sha256
    bytes: int
    context_length: int | None = None
    owned_by: str = SYSTEM
    # Where `files` live in the models bucket; None: `base/<name>` (shared models, and private ones from before
    # names were per owner).
    storage_prefix: str | None = None
    # The trainer's ModelInfo (layers, sizes, quantization) for memory estimates without the weights at hand.
    info: dict[str, object] | None = None
    # Where an imported model came from (None for models registered from a folder or exported).
    provenance: ModelProvenance | None = None

    def visible_to(self, owner: str) -> bool:
        """Shared models ("system") are everyone's; an exported model belongs to the owner of its adapter."""
        return self.owned_by in (SYSTEM, owner)

    @property
    def key(self) -> str:
        """The model's identity across owners (two owners may each have a model of the same name)."""
        return base_key(self.name, self.owned_by)

    @property
    def prefix(self) -> str:
        """Where the model's files live in the models bucket."""
        return self.storage_prefix or f"base/{self.name}"


class AdapterRecord(BaseModel):
    """A fine-tuned adapter registered under its fine_tuned_model name, for its owner and base model.

    A job's checkpoint is an adapter too (`checkpoint_step` set): served under its fine_tuned_model_checkpoint
    name from the checkpoint's own files, and left out of the owner's model list.
    """

    name: str  # the fine_tuned_model (or fine_tuned_model_checkpoint) name
    job_id: str
    owner: str
    base_model: str
    created: int
    files: dict[str, str]
    bucket: Bucket = Bucket.ADAPTERS
    storage_prefix: str | None = None  # where `files` live in `bucket`; None: under the job id
    checkpoint_step: int | None = None

    @property
    def prefix(self) -> str:
        """Where the adapter's files live in `bucket`."""
        return self.storage_prefix or self.job_id


@dataclass(frozen=True)
class ModelRef:
    """A model name as one owner may use it: a base model visible to them, or one of their adapters on its base."""

    name: str
    base: BaseModelRecord
    adapter: AdapterRecord | None

    @property
    def base_name(self) -> str:
        return self.base.name


def model_not_found(name: str, param: str = "model") -> NotFound:
    """The one answer for a model that does not exist and for one that belongs to someone else."""
    return NotFound(
        f"The model `{name}` does not exist or you do not have access to it.", param=param, code="model_not_found"
    )


def _fingerprint(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()[:16]


class ModelRegistry:
    """Base models and adapters by name: records in Redis, files in object storage, fetched to a local cache."""

    def __init__(self, client: redis.Redis, store: ObjectStore) -> None:
        self.redis = client
        self.store = store
        self.aliases = AliasStore(client)

    def register_base(
        self,
        name: str,
        directory: Path,
        *,
        info: dict[str, object] | None = None,
        owned_by: str = SYSTEM,
        reservation: str | None = None,
        provenance: ModelProvenance | None = None,
    ) -> BaseModelRecord:
        """Upload a local HF-layout model folder and record it under `name` for `owned_by` (replacing an older one).

        A name an export or import has reserved can only be registered by that job (`reservation`, its holder).
        A failed upload deletes what it stored when the name was new, so nothing half-registered stays.
        """
        if not NAME.match(name):
            raise InvalidArgument(f"model: {name!r} is not a valid model name (letters, digits, . _ -)", param="model")
        key = base_key(name, owned_by)
        with redis_errors("registering a model"):
            reply = self.redis.hget(RESERVED, key)
        holder = None if reply is None else text(reply)
        if holder is not None and holder != reservation:
            raise AlreadyExists(
                f"model: the name {name!r} is reserved by job {holder}", param="model", code="model_exists"
            )
        prefix = f"base/{name}" if owned_by == SYSTEM else f"owned/{_owner_digest(owned_by)}/{name}"
        files = {}
        replacing = self._get(key) is not None
        try:
            for path in sorted(p for p in directory.iterdir() if p.is_file()):
                files[path.name] = self.store.put_file(Bucket.MODELS, f"{prefix}/{path.name}", path).sha256 or ""
        except BaseException:
            if not replacing:
                for file_name in files:
                    self.store.delete(Bucket.MODELS, f"{prefix}/{file_name}")
            raise
        config = json.loads((directory / "config.json").read_text()) if (directory / "config.json").exists() else {}
        record = BaseModelRecord(
            name=name,
            created=int(time.time()),
            fingerprint=_fingerprint(files),
            files=files,
            bytes=sum(p.stat().st_size for p in directory.iterdir() if p.is_file()),
            context_length=config.get("max_position_embeddings"),
            info=info,
            owned_by=owned_by,
            storage_prefix=None if owned_by == SYSTEM else prefix,
            provenance=provenance,
        )
        with redis_errors("registering a model"):
            self.redis.hset(MODELS, key, record.model_dump_json())
        logger.info("base model registered", extra={"model": name, "fingerprint": record.fingerprint})
        return record

    def reserve_name(self, name: str, holder: str, *, owner: str = SYSTEM) -> None:
        """Claim `name` for the base model `holder` (an export or import) will register for `owner`.

        AlreadyExists if `owner` can already use a model of that name (their own or a shared one), or, for a
        shared name, if an owner has a model of their own by that name (so no owner ever sees two).
        """
        key = base_key(name, owner)
        with redis_errors("reserving a model name"):
            taken = self.get_base(name, owner=None if owner == SYSTEM else owner) is not None or (
                self._held_privately(name) if owner == SYSTEM else self.redis.hexists(RESERVED, name)
            )
            claimed = not taken and (
                bool(self.redis.hsetnx(RESERVED, key, holder)) or self.redis.hget(RESERVED, key) == holder
            )
        if not claimed:
            raise AlreadyExists(
                f"name: a model named {name!r} already exists or is being exported or imported; choose another name",
                param="name",
                code="model_exists",
            )

    def _held_privately(self, name: str) -> bool:
        for hash_key in (MODELS, RESERVED):
            if any(True for _ in self.redis.hscan_iter(hash_key, match=f"*/{name}")):
                return True
        return False

    def release_name(self, name: str, holder: str, *, owner: str = SYSTEM) -> None:
        """Give up `holder`'s claim on `name` (after registering it, or when the export failed)."""
        key = base_key(name, owner)
        with redis_errors("releasing a model name"):
            if self.redis.hget(RESERVED, key) == holder:
                self.redis.hdel(RESERVED, key)

    def resolve(self, name: str, owner: str) -> ModelRef | None:
        """What `name` means for `owner`: a base model they may use, one of their adapters, or None.

        An alias (`ft:alias:NAME`) is followed to what it points at now; the reference keeps the alias's name.
        """
        if is_alias(name):
            alias = self.aliases.get(owner, name.removeprefix(ALIAS_PREFIX))
            target = None if alias is None else self.resolve(alias.model, owner)
            return None if target is None else ModelRef(name, target.base, target.adapter)
        base = self.get_base(name, owner=owner)
        if base is not None:
            return ModelRef(name, base, None)
        try:
            adapter = self.get_adapter(name, owner=owner)
        except NotFound:
            return None
        base = self.get_base(adapter.base_model, owner=owner)
        if base is None:
            raise NotFound(
                f"model: {name!r} was trained on {adapter.base_model!r}, which is no longer registered",
                param="model",
                code="model_not_found",
            )
        return ModelRef(name, base, adapter)

    def _get(self, key: str) -> BaseModelRecord | None:
        with redis_errors("reading a model"):
            raw = self.redis.hget(MODELS, key)
        return BaseModelRecord.model_validate_json(raw) if raw else None

    def get_base(self, name: str, *, owner: str | None = None) -> BaseModelRecord | None:
        """The base model `name` as `owner` sees it (their own first, then a shared one); without one, shared only."""
        if "/" in name:  # never a model name: a key of an owner's model must not be reachable by name
            return None
        if owner is not None and owner != SYSTEM:
            own = self._get(base_key(name, owner))
            if own is not None:
                return own
        record = self._get(name)
        return record if record is not None and (owner is None or record.visible_to(owner)) else None

    def require_base(self, name: str, *, owner: str | None = None) -> BaseModelRecord:
        record = self.get_base(name, owner=owner)
        if record is None:
            known = ", ".join(self.visible_names(owner)) or "none"
            raise NotFound(
                f"model: no base model named {name!r} (available: {known})", param="model", code="model_not_found"
            )
        return record

    def list_base(self) -> list[BaseModelRecord]:
        with redis_errors("listing models"):
            values = self.redis.hvals(MODELS)
        return sorted((BaseModelRecord.model_validate_json(v) for v in values), key=lambda r: (r.name, r.owned_by))

    def list_visible(self, owner: str | None) -> list[BaseModelRecord]:
        """The base models `owner` may use (shared ones and their own); with None, the shared ones."""
        return [r for r in self.list_base() if r.visible_to(owner or SYSTEM)]

    def visible_names(self, owner: str | None) -> list[str]:
        return [r.name for r in self.list_visible(owner)]

    def fetch_base(self, name: str, cache_dir: Path, *, owner: str | None = None) -> Path:
        """The model's files in a local folder, downloaded once per fingerprint."""
        return self.fetch_record(self.require_base(name, owner=owner), cache_dir)

    def fetch_record(self, record: BaseModelRecord, cache_dir: Path) -> Path:
        return self._fetch(
            Bucket.MODELS, record.prefix, record.files, cache_dir / "models" / record.prefix / record.fingerprint
        )

    def register_adapter(self, record: AdapterRecord) -> None:
        with redis_errors("registering an adapter"):
            pipe = self.redis.pipeline()
            pipe.hset(f"{KEY_PREFIX}adapters", record.name, record.model_dump_json())
            if record.checkpoint_step is None:
                pipe.sadd(f"{KEY_PREFIX}adapters:{record.owner}", record.name)
            pipe.execute()

    def get_adapter(self, name: str, *, owner: str) -> AdapterRecord:
        """The owner's adapter `name` (an alias is followed to the adapter it points at now)."""
        alias = self.aliases.get(owner, name.removeprefix(ALIAS_PREFIX)) if is_alias(name) else None
        if alias is not None:
            name = alias.model
        with redis_errors("reading an adapter"):
            raw = self.redis.hget(f"{KEY_PREFIX}adapters", name)
        record = AdapterRecord.model_validate_json(raw) if raw else None
        if record is None or record.owner != owner:
            raise NotFound(f"model: no fine-tuned model named {name!r}", param="model", code="model_not_found")
        return record

    def list_adapters(self, owner: str) -> list[AdapterRecord]:
        with redis_errors("listing adapters"):
            names = sorted(self.redis.smembers(f"{KEY_PREFIX}adapters:{owner}"))
            raws = self.redis.hmget(f"{KEY_PREFIX}adapters", names) if names else []
        return [AdapterRecord.model_validate_json(r) for r in raws if r]

    def adapter_config(self, record: AdapterRecord) -> AdapterConfig:
        """The adapter's `adapter_config.json`, read from the object store."""
        raw = self.store.get_bytes(record.bucket, f"{record.prefix}/{ADAPTER_CONFIG}")
        return parse_adapter_config(json.loads(raw))

    def fetch_adapter(self, record: AdapterRecord, cache_dir: Path) -> Path:
        return self._fetch(
            record.bucket,
            record.prefix,
            record.files,
            cache_dir / "adapters" / record.job_id / _fingerprint(record.files),
        )

    def _fetch(self, bucket: Bucket, prefix: str, files: dict[str, str], target: Path) -> Path:
        if (target / ".complete").exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        # A folder of our own, renamed into place at the end: concurrent fetches (threads or processes) never
        # share a half-written folder, and the first complete copy wins.
        partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            for name, sha in files.items():
                self.store.download_file(bucket, f"{prefix}/{name}", partial / name, expected_sha256=sha or None)
            (partial / ".complete").write_text("")
            try:
                partial.rename(target)
            except OSError:
                if not (target / ".complete").exists():
                    shutil.rmtree(target, ignore_errors=True)
                    partial.rename(target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return target
