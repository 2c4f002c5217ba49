"""Import jobs against real Redis and S3: created checked, run by the real runner, registered with provenance,
and nothing half-registered left behind when they fail."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import gguf
import pytest
import redis as redis_lib

from services.trainer.imports import ImportOptions, import_gguf
from services.trainer.jobs.import_runner import ImportContext, ImportRunner
from services.trainer.jobs.imports import ImportRequest, ImportService
from services.trainer.jobs.kinds import IMPORT
from services.trainer.jobs.records import ImportRecord
from shared.errors import AlreadyExists, InvalidArgument, NotFound, PayloadTooLarge, ResourceExhausted
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs.records import JobStatus
from shared.jobs.store import JobStore
from shared.model_registry import RESERVED, ModelRegistry
from shared.storage import Bucket, ObjectStore
from tests.trainer.imports.builders import hf_weights, write_gguf

BIG = 1 << 40


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.Q8_0.gguf", hf_weights("llama"), quant=gguf.GGMLQuantizationType.Q8_0)


class Imports:
    """An import service and its runner on one store, with a settable memory budget; jobs run when queued."""

    def __init__(self, redis_client: redis_lib.Redis, store: ObjectStore, files: FileService, cache: Path) -> None:
        self.budget = BIG
        self.registry = ModelRegistry(redis_client, store)
        self.store: JobStore[ImportRecord] = JobStore(redis_client, IMPORT)
        self.objects = store
        self.files = files
        budget: Callable[[], int] = lambda: self.budget  # noqa: E731
        context = ImportContext(self.store, self.registry, files, store, cache, "test", budget)
        self.runner = ImportRunner(context)
        self.service = ImportService(self.store, files, store, self.registry, self.runner.run, budget_bytes=budget)

    def upload(self, path: Path, purpose: str = "model", filename: str | None = None) -> str:
        with path.open("rb") as stream:
            return self.files.upload(owner="alice", filename=filename or path.name, purpose=purpose, stream=stream).id

    def create(self, file_id: str, **fields: object) -> ImportRecord:
        request = {"owner": "alice", "file": file_id, "name": None, "quantization": "keep", "public": False} | fields
        record = self.service.create(ImportRequest(**request))  # type: ignore[arg-type]  # typed by the dict above
        done = self.store.get(record.id)
        assert done is not None
        return done

    def nothing_left(self, name: str) -> None:
        assert self.registry.get_base(name, owner="alice") is None
        assert not self.registry.redis.hexists(RESERVED, name)
        assert not self.registry.redis.hexists(RESERVED, f"alice/{name}")
        assert not [o for o in self.objects.list(Bucket.MODELS) if f"/{name}/" in o.key]


@pytest.fixture
def imports(redis_client: redis_lib.Redis, store: ObjectStore, files_service: FileService, tmp_path: Path) -> Imports:
    return Imports(redis_client, store, files_service, tmp_path / "cache")


def test_a_gguf_is_imported_with_its_provenance(imports: Imports, tiny_gguf: Path) -> None:
    job = imports.create(imports.upload(tiny_gguf))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.name == "tiny.Q8_0" and job.provenance is not None
    record = imports.registry.require_base("tiny.Q8_0", owner="alice")
    assert imports.registry.get_base("tiny.Q8_0", owner="bob") is None
    assert record.owned_by == "alice" and record.provenance == job.provenance
    assert (record.provenance.source, record.provenance.file_name, record.provenance.quantization) == (
        "gguf",
        "tiny.Q8_0.gguf",
        "Q8_0",
    )
    steps = [e.message for e in imports.store.events(job.id)]
    assert any(s.startswith("Converting tiny.Q8_0.gguf") for s in steps) and steps[-1] == "Imported as tiny.Q8_0"
    assert not imports.registry.redis.hexists(RESERVED, "alice/tiny.Q8_0")


def test_a_tar_of_a_folder_public_and_dequantized(imports: Imports, tiny_gguf: Path, tmp_path: Path) -> None:
    folder = import_gguf(tiny_gguf, tmp_path / "mlx", ImportOptions(keep_quantization=True)).model_dir
    archive = tmp_path / "mlx.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname="mlx")
    job = imports.create(imports.upload(archive), name="shared-tiny", quantization="bfloat16", public=True)
    assert job.status == JobStatus.SUCCEEDED, job.error
    record = imports.registry.require_base("shared-tiny")
    assert record.owned_by == "system" and record.provenance is not None
    assert (record.provenance.source, record.provenance.dtype, record.provenance.bits) == ("mlx", "bfloat16", None)


def test_a_truncated_gguf_is_refused_at_creation_naming_the_tensor(imports: Imports, tiny_gguf: Path) -> None:
    tiny_gguf.write_bytes(tiny_gguf.read_bytes()[:-4096])
    with pytest.raises(InvalidArgument, match=r"^file tiny\.Q8_0\.gguf: truncated: tensor '") as caught:
        imports.create(imports.upload(tiny_gguf), name="broken")
    assert caught.value.param == "file"
    imports.nothing_left("broken")
    assert imports.store.list_owned("alice", after=None, limit=10) == ([], False)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x80\x04\x95" + b"\0" * 64, r"^file upload\.bin: a pickle checkpoint is refused"),
        (b"PK\x03\x04" + b"\0" * 64, r"^file upload\.bin: a pickle checkpoint is refused"),
        (b"hello, not a model", r"^file upload\.bin: neither a GGUF file \(magic b'hell'\)"),
    ],
)
def test_what_the_first_bytes_show_is_refused_at_creation(
    imports: Imports, tmp_path: Path, content: bytes, match: str
) -> None:
    (tmp_path / "upload.bin").write_bytes(content)
    with pytest.raises(InvalidArgument, match=match):
        imports.create(imports.upload(tmp_path / "upload.bin"), name="refused")
    imports.nothing_left("refused")
    assert imports.store.list_owned("alice", after=None, limit=10) == ([], False)


def test_a_gguf_header_the_worker_would_refuse_is_refused_at_creation(imports: Imports, tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "g.gguf", hf_weights("llama"), arch="gemma")
    with pytest.raises(InvalidArgument, match=r"^file g\.gguf: general\.architecture 'gemma' is not supported"):
        imports.create(imports.upload(path), name="gemma")
    quant = write_gguf(tmp_path / "q.gguf", hf_weights("llama"), quant=gguf.GGMLQuantizationType.Q5_0)
    with pytest.raises(InvalidArgument, match=r"^file q\.gguf: tensor 'token_embd\.weight' has quantization type Q5_0"):
        imports.create(imports.upload(quant), name="q5")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InvalidArgument, match=r"^file g\.gguf: truncated or corrupt GGUF header"):
        imports.create(imports.upload(path), name="cut")
    for name in ("gemma", "q5", "cut"):
        imports.nothing_left(name)


def test_a_header_longer_than_the_head_read_is_left_to_the_worker(
    imports: Imports, tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.trainer.jobs.import_checks.HEAD_BYTES", 64)
    job = imports.create(imports.upload(tiny_gguf))
    assert job.status == JobStatus.SUCCEEDED, job.error


def test_a_taken_name_is_refused_before_queueing(imports: Imports, tiny_gguf: Path) -> None:
    file_id = imports.upload(tiny_gguf)
    imports.create(file_id, name="mine")
    with pytest.raises(AlreadyExists, match="'mine' already exists") as caught:
        imports.create(file_id, name="mine")
    assert caught.value.param == "name"


def test_bad_fields_are_named(imports: Imports, tiny_gguf: Path) -> None:
    file_id = imports.upload(tiny_gguf)
    with pytest.raises(InvalidArgument, match="quantization: got 'int4'"):
        imports.create(file_id, quantization="int4")
    with pytest.raises(InvalidArgument, match="name: got 'bad name'"):
        imports.create(file_id, name="bad name")
    with pytest.raises(NotFound, match="file: no such File object: file-nope") as caught:
        imports.create("file-nope")
    assert caught.value.param == "file"
    jsonl = tiny_gguf.parent / "t.jsonl"
    jsonl.write_text('{"text": "hi"}\n')
    with pytest.raises(InvalidArgument, match="purpose 'model'"):
        imports.create(imports.upload(jsonl, purpose="raw"))


def test_too_big_for_the_worker(imports: Imports, tiny_gguf: Path) -> None:
    file_id = imports.upload(tiny_gguf)
    size = tiny_gguf.stat().st_size
    imports.budget = size
    with pytest.raises(ResourceExhausted, match=r"file tiny\.Q8_0\.gguf: importing it needs about"):
        imports.create(file_id, name="big")
    imports.nothing_left("big")
    # Kept quantized it would fit; dequantized to float32 (4 bytes a parameter) it cannot: found on the worker.
    imports.budget = int(3.5 * size)
    job = imports.create(file_id, name="big", quantization="float32")
    assert job.status == JobStatus.FAILED and job.error is not None and job.error.code == "model_too_large"
    imports.nothing_left("big")


def test_model_uploads_have_their_own_size_limit(redis_client: redis_lib.Redis, store: ObjectStore) -> None:
    files = FileService(store, FileRepository(redis_client), max_bytes=16, max_model_bytes=1024)
    assert files.upload(owner="alice", filename="m.gguf", purpose="model", stream=io.BytesIO(b"x" * 1000)).bytes == 1000
    with pytest.raises(PayloadTooLarge, match=r"1024-byte limit \(DISTRUST_GATEWAY_MAX_MODEL_UPLOAD_BYTES\)"):
        files.upload(owner="alice", filename="m.gguf", purpose="model", stream=io.BytesIO(b"x" * 1025))
    with pytest.raises(PayloadTooLarge, match=r"16-byte limit \(DISTRUST_GATEWAY_MAX_UPLOAD_BYTES\)"):
        files.upload(owner="alice", filename="t.jsonl", purpose="raw", stream=io.BytesIO(b"x" * 17))
