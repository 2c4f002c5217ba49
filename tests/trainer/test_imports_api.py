"""Model imports over HTTP: gateway → real trainer gRPC server (imports run by the real runner in a thread) and a
real inference service that lists the imported model with its provenance."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import gguf
import httpx
import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from cli.client import GatewayClient
from cli.commands.model_import import import_model
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.inference.config import InferenceSettings
from services.inference.server import start as start_inference
from services.trainer.config import TrainerSettings
from services.trainer.imports import ImportOptions, import_gguf
from services.trainer.jobs.import_runner import ImportContext, ImportRunner
from services.trainer.jobs.kinds import IMPORT
from services.trainer.server import Enqueuers
from services.trainer.server import start as start_trainer
from shared.errors import InvalidArgument, NotFound
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.redis_store import connect
from shared.settings import RedisSettings, StorageSettings, load_settings
from shared.storage import ObjectStore
from tests.trainer.imports.builders import hf_weights, write_gguf
from tests.trainer.imports.stores import ollama_store

ALICE = {"Authorization": "Bearer key-alice"}
ROOT = {"Authorization": "Bearer key-root"}
QUIET = Console(quiet=True)


def _ignore(_job_id: str) -> None:
    """Other kinds of job are not run here."""


@pytest.fixture(scope="module")
def client(
    storage_settings: StorageSettings, redis_settings: RedisSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    redis = connect(redis_settings)
    objects = ObjectStore(storage_settings)
    runner = ImportRunner(
        ImportContext(
            store=JobStore(redis, IMPORT),
            registry=ModelRegistry(redis, objects),
            files=FileService(objects, FileRepository(redis), max_bytes=1 << 40),
            objects=objects,
            cache_dir=tmp_path_factory.mktemp("import-cache"),
            holder="test-thread",
            budget_bytes=lambda: 1 << 40,
        )
    )

    def run_import(job_id: str) -> None:
        threading.Thread(target=runner.run, args=(job_id,), daemon=True).start()

    trainer = start_trainer(
        TrainerSettings(host="127.0.0.1", port=0, redis=redis_settings, storage=storage_settings),
        enqueue=Enqueuers(_ignore, _ignore, _ignore, run_import),
    )
    inference = start_inference(
        InferenceSettings(
            host="127.0.0.1",
            port=0,
            redis=redis_settings,
            storage=storage_settings,
            cache_dir=tmp_path_factory.mktemp("inference-cache"),
        )
    )
    settings = load_settings(
        GatewaySettings,
        storage=storage_settings,
        redis=redis_settings,
        api_keys="key-alice=alice,key-bob=bob,key-root=root",
        admin_owners="root",
        trainer_target=f"127.0.0.1:{trainer.port}",
        inference_target=f"127.0.0.1:{inference.port}",
        scorer_target="127.0.0.1:1",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    inference.stop(0)
    trainer.stop(0)


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gguf")
    return write_gguf(folder / "tiny.Q8_0.gguf", hf_weights("llama"), quant=gguf.GGMLQuantizationType.Q8_0)


def upload(client: TestClient, path: Path, headers: dict[str, str] = ALICE) -> str:
    with path.open("rb") as stream:
        response = client.post("/v1/files", headers=headers, data={"purpose": "model"}, files={"file": stream})
    assert response.status_code == 200, response.text
    assert response.json()["purpose"] == "model"
    file_id: str = response.json()["id"]
    return file_id


def finished(client: TestClient, import_id: str, headers: dict[str, str] = ALICE) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/models/imports/{import_id}", headers=headers).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"import {import_id} did not finish")


def test_upload_import_and_retrieve_with_provenance(client: TestClient, tiny_gguf: Path) -> None:
    created = client.post("/v1/models", headers=ALICE, json={"file": upload(client, tiny_gguf), "name": "api-tiny"})
    assert created.status_code == 200, created.text
    assert created.json()["object"] == "model.import" and created.json()["quantization"] == "keep"
    body = finished(client, created.json()["id"])
    assert body["status"] == "succeeded", body["error"]
    assert body["provenance"]["source"] == "gguf" and body["provenance"]["file_name"] == "tiny.Q8_0.gguf"
    model = client.get("/v1/models/api-tiny", headers=ALICE).json()
    assert model["owned_by"] == "alice" and model["kind"] == "base"
    assert model["provenance"] == body["provenance"] and model["provenance"]["quantization"] == "Q8_0"
    assert client.get("/v1/models/api-tiny", headers={"Authorization": "Bearer key-bob"}).status_code == 404
    events = client.get(f"/v1/models/imports/{body['id']}/events", headers=ALICE, params={"limit": 100}).json()
    assert (
        events["data"][0]["object"] == "model.import.event" and events["data"][0]["message"] == "Imported as api-tiny"
    )
    listed = client.get("/v1/models/imports", headers=ALICE).json()
    assert body["id"] in [i["id"] for i in listed["data"]]


def test_a_public_import_needs_an_admin_key(client: TestClient, tiny_gguf: Path) -> None:
    refused = client.post("/v1/models", headers=ALICE, json={"file": upload(client, tiny_gguf), "public": True})
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "public", refused.text
    created = client.post(
        "/v1/models", headers=ROOT, json={"file": upload(client, tiny_gguf, ROOT), "name": "for-all", "public": True}
    )
    assert finished(client, created.json()["id"], ROOT)["status"] == "succeeded"
    assert client.get("/v1/models/for-all", headers=ALICE).json()["owned_by"] == "system"


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"quantization": "int4"}, 400, "quantization"),
        ({"name": "bad name"}, 400, "name"),
        ({"temperature": 1}, 400, "temperature"),
    ],
)
def test_bad_fields_are_named(
    client: TestClient, tiny_gguf: Path, body: dict[str, object], status: int, param: str
) -> None:
    response = client.post("/v1/models", headers=ALICE, json={"file": upload(client, tiny_gguf), **body})
    assert response.status_code == status and response.json()["error"]["param"] == param, response.text


def test_unknown_file_and_taken_name(client: TestClient, tiny_gguf: Path) -> None:
    missing = client.post("/v1/models", headers=ALICE, json={"file": "file-nope"})
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "file", missing.text
    file_id = upload(client, tiny_gguf)
    first = client.post("/v1/models", headers=ALICE, json={"file": file_id, "name": "taken"})
    assert finished(client, first.json()["id"])["status"] == "succeeded"
    again = client.post("/v1/models", headers=ALICE, json={"file": file_id, "name": "taken"})
    assert again.status_code == 409 and "'taken' already exists" in again.json()["error"]["message"], again.text


def test_a_corrupt_gguf_header_is_a_400_naming_the_file(client: TestClient, tiny_gguf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_gguf.read_bytes()[:300])
    created = client.post("/v1/models", headers=ALICE, json={"file": upload(client, broken), "name": "broken"})
    assert created.status_code == 400, created.text
    error = created.json()["error"]
    assert error["param"] == "file" and error["message"].startswith("file broken.gguf: truncated or corrupt GGUF")
    assert client.get("/v1/models/broken", headers=ALICE).status_code == 404


def test_a_gguf_truncated_in_its_tensor_data_is_a_400_naming_the_tensor(
    client: TestClient, tiny_gguf: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "cut.gguf"
    broken.write_bytes(tiny_gguf.read_bytes()[:-4096])
    created = client.post("/v1/models", headers=ALICE, json={"file": upload(client, broken), "name": "cut"})
    assert created.status_code == 400, created.text
    error = created.json()["error"]
    assert error["param"] == "file" and error["message"].startswith("file cut.gguf: truncated: tensor '"), error
    assert client.get("/v1/models/cut", headers=ALICE).status_code == 404
    imports = client.get("/v1/models/imports", headers=ALICE).json()["data"]
    assert all(job["name"] != "cut" for job in imports)


@pytest.fixture
def cli_gateway(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> GatewayClient:
    """The CLI's gateway client, talking to the test app as alice."""
    gateway = GatewayClient("http://testserver", "key-alice")
    monkeypatch.setitem(client.headers, "Authorization", "Bearer key-alice")
    gateway.http = cast(httpx.Client, client)  # the test app, over the same client API
    return gateway


def test_cli_imports_an_ollama_model(
    cli_gateway: GatewayClient, tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_MODELS", str(ollama_store(tmp_path / "ollama", tiny_gguf, "tiny", "q8")))
    record = import_model(cli_gateway, "ollama:tiny:q8", name=None, quantization="keep", public=False, console=QUIET)
    assert record["status"] == "succeeded" and record["name"] == "tiny-q8", record["error"]
    assert record["provenance"]["file_name"] == "tiny-q8.gguf"
    uploads = cli_gateway.request("GET", "/v1/files")["data"]
    assert record["file"] not in [f["id"] for f in uploads], "the upload was not deleted after the import"


def test_cli_imports_an_mlx_folder_as_a_tar(cli_gateway: GatewayClient, tiny_gguf: Path, tmp_path: Path) -> None:
    folder = import_gguf(tiny_gguf, tmp_path / "Tiny-MLX-8bit", ImportOptions(keep_quantization=True)).model_dir
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04")  # beside safetensors: left out of the upload
    record = import_model(cli_gateway, str(folder), name=None, quantization="keep", public=False, console=QUIET)
    assert record["status"] == "succeeded", record["error"]
    assert record["name"] == "Tiny-MLX-8bit" and record["provenance"]["source"] == "mlx"
    assert record["provenance"]["bits"] == 8


def test_cli_refuses_a_pickle_folder_before_uploading(cli_gateway: GatewayClient, tmp_path: Path) -> None:
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(InvalidArgument, match=r"file pytorch_model\.bin: a pickle checkpoint is refused"):
        import_model(cli_gateway, str(tmp_path / "torch"), name=None, quantization="keep", public=False, console=QUIET)
    with pytest.raises(NotFound, match="ollama model nothing:latest is not installed"):
        import_model(cli_gateway, "ollama:nothing", name=None, quantization="keep", public=False, console=QUIET)


def test_cli_refuses_an_unsupported_gguf_before_uploading(cli_gateway: GatewayClient, tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "g.gguf", hf_weights("llama"), arch="gemma")
    before = len(cli_gateway.request("GET", "/v1/files")["data"])
    with pytest.raises(InvalidArgument, match="'gemma' is not supported"):
        import_model(cli_gateway, str(path), name=None, quantization="keep", public=False, console=QUIET)
    assert len(cli_gateway.request("GET", "/v1/files")["data"]) == before
