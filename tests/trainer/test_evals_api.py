"""The evaluation and export routes: gateway → real trainer gRPC server on a free port (no workers: jobs stay queued)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from shared.model_registry import AdapterRecord, ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.gateway import gateway_client

ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}
BUILT_IN = [{"type": "source_preference", "method": "letter", "limit": 2}, {"type": "suite", "suite": "authority"}]


@pytest.fixture(scope="module")
def client(
    storage_settings: StorageSettings, redis_settings: RedisSettings, trainer_target: str
) -> Iterator[TestClient]:
    targets = {"trainer_target": trainer_target, "scorer_target": "127.0.0.1:1", "inference_target": "127.0.0.1:1"}
    with gateway_client(storage_settings, redis_settings, **targets) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def adapter(redis_settings: RedisSettings, store: ObjectStore, registered_model: str) -> str:
    registry = ModelRegistry(redis_lib.Redis.from_url(redis_settings.url.get_secret_value()), store)
    name = f"ft:{registered_model}:api:0001"
    registry.register_adapter(
        AdapterRecord(name=name, job_id="ftjob-api", owner="alice", base_model=registered_model, created=0, files={})
    )
    return name


def test_an_evaluation_is_created_read_listed_and_cancelled(
    client: TestClient, adapter: str, registered_model: str
) -> None:
    created = client.post("/v1/evals", headers=ALICE, json={"models": [adapter], "tasks": BUILT_IN, "seed": 3})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["object"] == "eval" and body["status"] == "queued" and body["seed"] == 3
    assert body["models"] == [registered_model, adapter]
    assert body["tasks"] == [
        {"type": "source_preference", "name": "source_preference", "method": "letter", "limit": 2},
        {"type": "suite", "name": "suite", "suite": "authority"},
    ]
    assert body["progress"] == {"done": 0, "total": 4} and body["summary"] is None and body["error"] is None
    assert client.get(f"/v1/evals/{body['id']}", headers=ALICE).json() == body
    assert client.get(f"/v1/evals/{body['id']}", headers=BOB).status_code == 404

    listed = client.get("/v1/evals", headers=ALICE, params={"limit": 1}).json()
    assert listed["object"] == "list" and listed["data"] == [body] and listed["first_id"] == body["id"]
    assert client.get("/v1/evals", headers=BOB).json()["data"] == []

    early = client.get(f"/v1/evals/{body['id']}/results", headers=ALICE)
    assert early.status_code == 409 and early.json()["error"]["code"] == "results_not_ready", early.text
    cancelled = client.post(f"/v1/evals/{body['id']}/cancel", headers=ALICE)
    assert cancelled.status_code == 200 and cancelled.json()["status"] in ("cancelling", "cancelled")
    events = client.get(f"/v1/evals/{body['id']}/events", headers=ALICE).json()
    assert events["object"] == "list" and events["data"][-1]["object"] == "eval.event"


@pytest.mark.parametrize(
    ("task", "param"),
    [
        ({"type": "vibes"}, "tasks[0]"),
        ({"type": "truthfulqa", "method": "guess"}, "tasks[0].truthfulqa.method"),
        ({"type": "suite", "suite": "authority", "method": "letter"}, "tasks[0].suite.method"),
        ({"type": "truthfulqa", "limit": 2**40}, "tasks[0].truthfulqa.limit"),
        ({"type": "suite", "suite": "no-such-suite"}, "tasks[0].suite"),
    ],
)
def test_bad_tasks_are_400s_naming_the_field(
    client: TestClient, adapter: str, task: dict[str, object], param: str
) -> None:
    response = client.post("/v1/evals", headers=ALICE, json={"models": [adapter], "tasks": [task]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith(param), response.text


def test_an_unknown_model_is_a_404_naming_it(client: TestClient, adapter: str) -> None:
    response = client.post("/v1/evals", headers=BOB, json={"models": [adapter], "tasks": BUILT_IN})
    assert response.status_code == 404 and response.json()["error"]["param"] == "models[0]"


def test_an_export_is_created_read_and_listed(client: TestClient, adapter: str, registered_model: str) -> None:
    created = client.post("/v1/models/export", headers=ALICE, json={"model": adapter, "quantize": {"bits": 8}})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["object"] == "model.export" and body["status"] == "queued" and body["base_model"] == registered_model
    assert body["output_model"] == f"{registered_model}-api-0001-fused-q8"
    assert body["options"] == {"quantize": {"bits": 8, "group_size": 64}, "gguf": False, "dtype": None}
    assert body["result"] is None
    assert client.get(f"/v1/models/exports/{body['id']}", headers=ALICE).json() == body
    assert client.get(f"/v1/models/exports/{body['id']}", headers=BOB).status_code == 404
    listed = client.get("/v1/models/exports", headers=ALICE).json()
    assert body["id"] in [e["id"] for e in listed["data"]]
    gguf = client.get(f"/v1/models/exports/{body['id']}/gguf", headers=ALICE)
    assert gguf.status_code == 409 and gguf.json()["error"]["code"] == "no_gguf"
    again = client.post("/v1/models/export", headers=ALICE, json={"model": adapter, "quantize": {"bits": 8}})
    assert again.status_code == 409 and again.json()["error"]["param"] == "name"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"quantize": {"bits": 3}}, "quantize.bits"),
        ({"quantize": {"bits": 4, "group_size": 48}}, "quantize.group_size"),
        ({"gguf": True, "quantize": {"bits": 4}}, "gguf"),
        ({"dtype": "int8"}, "dtype"),
        ({"dtypo": "float16"}, "dtypo"),
    ],
)
def test_bad_export_options_are_400s_naming_the_field(
    client: TestClient, adapter: str, body: dict[str, object], param: str
) -> None:
    response = client.post("/v1/models/export", headers=ALICE, json={"model": adapter, **body})
    assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text


def test_every_eval_and_export_route_documents_its_response(client: TestClient) -> None:
    paths = client.get("/openapi.json", headers=ALICE).json()["paths"]
    for path in (
        "/v1/evals",
        "/v1/evals/{eval_id}",
        "/v1/evals/{eval_id}/cancel",
        "/v1/models/export",
        "/v1/models/exports",
        "/v1/models/exports/{export_id}",
    ):
        for operation in paths[path].values():
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert "$ref" in schema or "items" in schema, (path, schema)


def test_model_archives(client: TestClient, adapter: str, registered_model: str) -> None:
    archive = client.get(f"/v1/models/{registered_model}/archive", headers=ALICE)
    assert archive.status_code == 200 and archive.content[:2] == b"\x1f\x8b"
    assert archive.headers["content-disposition"].endswith(f'"{registered_model}.tar.gz"')
    assert client.get(f"/v1/models/{adapter}/archive", headers=ALICE).status_code == 200
    missing = client.get(f"/v1/models/{adapter}/archive", headers=BOB)
    assert missing.status_code == 404 and missing.json()["error"]["code"], missing.text


def test_unsupported_eval_field_is_an_error(client: TestClient, adapter: str) -> None:
    body = {"models": [adapter], "tasks": BUILT_IN, "metadata": {"team": "a"}}
    response = client.post("/v1/evals", headers=ALICE, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "metadata"
