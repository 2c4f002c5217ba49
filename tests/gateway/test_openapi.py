"""Every operation of the gateway documents what it answers: a typed JSON body, or its declared media type."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shared.settings import RedisSettings, StorageSettings
from tests.gateway.users import ALICE
from tests.helpers.gateway import gateway_client

# Operations whose 200 is not JSON declare their media type instead of a schema.
NON_JSON = {"application/gzip", "application/octet-stream", "image/png", "text/event-stream", "text/plain"}


def test_every_operation_declares_its_response(client: TestClient) -> None:
    spec = client.get("/openapi.json", headers=ALICE).json()
    operations = [(m.upper(), path, op) for path, ops in spec["paths"].items() for m, op in ops.items()]
    assert len(operations) > 30
    undocumented = []
    for method, path, operation in operations:
        responses = operation["responses"]
        content = (responses.get("200") or responses.get("201") or {}).get("content", {})
        typed = content.get("application/json", {}).get("schema") not in (None, {})
        if not typed and not NON_JSON & {media.split(";")[0] for media in content}:
            undocumented.append(f"{method} {path}")
    assert undocumented == [], undocumented


def test_error_statuses_are_the_ones_answered(client: TestClient) -> None:
    """No FastAPI 422 (validation errors are 400s with OpenAI's body); every /v1 operation documents its errors."""
    spec = client.get("/openapi.json", headers=ALICE).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            assert responses["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
            if path.startswith("/v1/"):
                assert {"401", "404", "413", "503"} <= set(responses), (method, path)
    assert client.post("/v1/files", headers={"authorization": "Bearer nope"}).status_code == 401


def test_every_v1_operation_names_its_scope(client: TestClient) -> None:
    spec = client.get("/openapi.json", headers=ALICE).json()
    assert spec["components"]["securitySchemes"]["APIKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["APIKey"]["description"],
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1/"):
                [requirement] = operation["security"]
                assert requirement["APIKey"] in (["inference"], ["training"], ["files"], ["admin"]), (method, path)


def test_the_document_needs_a_key_unless_public(
    client: TestClient, storage_settings: StorageSettings, redis_settings: RedisSettings
) -> None:
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    with gateway_client(storage_settings, redis_settings, public_docs=True) as public:
        assert public.get("/openapi.json").status_code == 200
        assert public.get("/docs").status_code == 200
