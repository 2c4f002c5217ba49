"""Model imports over HTTP: gateway → real trainer gRPC server (imports run by the real runner in a thread) and a
real inference service that lists the imported model with its provenance."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gguf
import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.inference.config import InferenceSettings
from services.inference.server import start as start_inference
from services.trainer.config import TrainerSettings
from services.trainer.jobs.import_runner import ImportContext, ImportRunner
from services.trainer.jobs.kinds import IMPORT
from services.trainer.server import Enqueuers
from services.trainer.server import start as start_trainer
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.redis_store import connect
from shared.settings import RedisSettings, StorageSettings, load_settings
from shared.storage import ObjectStore
from tests.trainer.imports.builders import hf_weights, write_gguf

ALICE = {"Authorization": "Bearer key-alice"}
ROOT = {"Authorization": "Bearer key-root"}


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


def test_a_corrupt_gguf_fails_naming_the_file(client: TestClient, tiny_gguf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_gguf.read_bytes()[:300])
    created = client.post("/v1/models", headers=ALICE, json={"file": upload(client, broken), "name": "broken"})
    body = finished(client, created.json()["id"])
    assert body["status"] == "failed" and body["error"]["message"].startswith("file broken.gguf: truncated")
    assert client.get("/v1/models/broken", headers=ALICE).status_code == 404
