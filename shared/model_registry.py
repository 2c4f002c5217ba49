"""Base models and fine-tuned adapters: records in Redis, files in the object store's `models` / `adapters` buckets.

A base model lives under `models/base/<name>/`; a fine-tuned model's adapter under `adapters/<job_id>/`, a
checkpoint's under its prefix in `checkpoints/`. Both the trainer and the inference service resolve model names
here and cache the files locally by fingerprint.
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

from shared.errors import AlreadyExists, InvalidArgument, NotFound
from shared.redis_store import KEY_PREFIX, redis_errors, text
from shared.schemas.model_import import ModelProvenance
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RESERVED = (
    f"{KEY_PREFIX}models:reserved"  # base-model names claimed by exports and imports still running: name -> holder
)


class BaseModelRecord(BaseModel):
    """A registered base model: its files in object storage, their sha256 and what inspecting it found."""

    name: str
    created: int
    fingerprint: str
    files: dict[str, str]  # file name → sha256
    bytes: int
    context_length: int | None = None
    owned_by: str = "system"
    # The trainer's ModelInfo (layers, sizes, quantization) for memory estimates without the weights at hand.
    info: dict[str, object] | None = None
    # Where an imported model came from (None for models registered from a folder or exported).
    provenance: ModelProvenance | None = None

    def visible_to(self, owner: str) -> bool:
        """Shared models ("system") are everyone's; an exported model belongs to the owner of its adapter."""
        return self.owned_by in ("system", owner)


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
    """A model name as one owner may use it: a base model visible to them, or one of their adapters."""

    name: str
    base: BaseModelRecord | None
    adapter: AdapterRecord | None

    @property
    def base_name(self) -> str:
        if self.base is not None:
            return self.base.name
        assert self.adapter is not None, "a ModelRef names a base model or an adapter"
        return self.adapter.base_model


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

    def register_base(
        self,
        name: str,
        directory: Path,
        *,
        info: dict[str, object] | None = None,
        owned_by: str = "system",
        reservation: str | None = None,
        provenance: ModelProvenance | None = None,
    ) -> BaseModelRecord:
        """Upload a local HF-layout model folder and record it under `name` (replacing an older version).

        A name an export or import has reserved can only be registered by that job (`reservation`, its holder).
        A failed upload deletes what it stored when the name was new, so nothing half-registered stays.
        """
        if not NAME.match(name):
            raise InvalidArgument(f"model: {name!r} is not a valid model name (letters, digits, . _ -)", param="model")
        with redis_errors("registering a model"):
            reply = self.redis.hget(RESERVED, name)
        holder = None if reply is None else text(reply)
        if holder is not None and holder != reservation:
            raise AlreadyExists(
                f"model: the name {name!r} is reserved by job {holder}", param="model", code="model_exists"
            )
        files = {}
        replacing = self.get_base(name) is not None
        try:
            for path in sorted(p for p in directory.iterdir() if p.is_file()):
                files[path.name] = self.store.put_file(Bucket.MODELS, f"base/{name}/{path.name}", path).sha256 or ""
        except BaseException:
            if not replacing:
                for file_name in files:
                    self.store.delete(Bucket.MODELS, f"base/{name}/{file_name}")
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
            provenance=provenance,
        )
        with redis_errors("registering a model"):
            self.redis.hset(f"{KEY_PREFIX}models", name, record.model_dump_json())
        logger.info("base model registered", extra={"model": name, "fingerprint": record.fingerprint})
        return record

    def reserve_name(self, name: str, holder: str) -> None:
        """Claim `name` for the base model that `holder` (an export or import) will register; AlreadyExists if taken."""
        with redis_errors("reserving a model name"):
            claimed = self.get_base(name) is None and (
                bool(self.redis.hsetnx(RESERVED, name, holder)) or self.redis.hget(RESERVED, name) == holder
            )
        if not claimed:
            raise AlreadyExists(
                f"name: a model named {name!r} already exists or is being exported or imported; choose another name",
                param="name",
                code="model_exists",
            )

    def release_name(self, name: str, holder: str) -> None:
        """Give up `holder`'s claim on `name` (after registering it, or when the export failed)."""
        with redis_errors("releasing a model name"):
            if self.redis.hget(RESERVED, name) == holder:
                self.redis.hdel(RESERVED, name)

    def resolve(self, name: str, owner: str) -> ModelRef | None:
        """What `name` means for `owner`: a base model they may use, one of their adapters, or None."""
        base = self.get_base(name)
        if base is not None and base.visible_to(owner):
            return ModelRef(name, base, None)
        try:
            return ModelRef(name, None, self.get_adapter(name, owner=owner))
        except NotFound:
            return None

    def get_base(self, name: str) -> BaseModelRecord | None:
        with redis_errors("reading a model"):
            raw = self.redis.hget(f"{KEY_PREFIX}models", name)
        return BaseModelRecord.model_validate_json(raw) if raw else None

    def require_base(self, name: str) -> BaseModelRecord:
        record = self.get_base(name)
        if record is None:
            known = ", ".join(r.name for r in self.list_base()) or "none"
            raise NotFound(
                f"model: no base model named {name!r} (available: {known})", param="model", code="model_not_found"
            )
        return record

    def list_base(self) -> list[BaseModelRecord]:
        with redis_errors("listing models"):
            values = self.redis.hvals(f"{KEY_PREFIX}models")
        return sorted((BaseModelRecord.model_validate_json(v) for v in values), key=lambda r: r.name)

    def fetch_base(self, name: str, cache_dir: Path) -> Path:
        """The model's files in a local folder, downloaded once per fingerprint."""
        record = self.require_base(name)
        return self._fetch(
            Bucket.MODELS, f"base/{name}", record.files, cache_dir / "models" / name / record.fingerprint
        )

    def register_adapter(self, record: AdapterRecord) -> None:
        with redis_errors("registering an adapter"):
            pipe = self.redis.pipeline()
            pipe.hset(f"{KEY_PREFIX}adapters", record.name, record.model_dump_json())
            if record.checkpoint_step is None:
                pipe.sadd(f"{KEY_PREFIX}adapters:{record.owner}", record.name)
            pipe.execute()

    def get_adapter(self, name: str, *, owner: str) -> AdapterRecord:
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
