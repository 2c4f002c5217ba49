from __future__ import annotations

from fastapi.testclient import TestClient

from tests.gateway.users import ALICE


def test_healthz_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_missing_and_wrong_keys_are_401_with_openai_body(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic a2V5"}):
        for path in ("/v1/files", "/readyz", "/metrics"):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            error = response.json()["error"]
            assert error["type"] == "authentication_error" and set(error) == {"message", "type", "param", "code"}


def test_readyz_names_every_backend(client: TestClient) -> None:
    response = client.get("/readyz", headers=ALICE)
    checks = response.json()["checks"]
    assert set(checks) == {"redis", "storage", "scorer", "trainer", "inference"}
    assert checks["redis"]["status"] == "ok" and checks["storage"]["status"] == "ok"
    # The gRPC services are not running in this test: not ready, each failure said.
    assert response.status_code == 503 and checks["scorer"]["status"] == "error" and checks["scorer"]["error"]
    assert response.json()["status"] == "degraded" and "error" not in checks["redis"]
    assert all(isinstance(check["latency_ms"], float) for check in checks.values())


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"x-request-id": "abc-1"}).headers["x-request-id"] == "abc-1"
    assert client.get("/healthz").headers["x-request-id"].startswith("req_")


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/v1/files", headers=ALICE)
    text = client.get("/metrics", headers=ALICE).text
    assert 'distrust_http_requests_total{method="GET",route="/v1/files",status="200"} 1.0' in text


def test_unknown_route_is_openai_404(client: TestClient) -> None:
    response = client.get("/v1/nothing", headers=ALICE)
    assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"


def test_openapi_lists_the_files_api(client: TestClient) -> None:
    paths = client.get("/openapi.json", headers=ALICE).json()["paths"]
    assert {"/v1/files", "/v1/files/{file_id}", "/v1/files/{file_id}/content", "/readyz"} <= set(paths)


def test_openapi_documents_every_response(client: TestClient) -> None:
    spec = client.get("/openapi.json", headers=ALICE).json()
    schemas = spec["components"]["schemas"]
    for path in ("/v1/files", "/v1/files/{file_id}", "/v1/chat/completions", "/v1/completions", "/v1/models"):
        for operation in spec["paths"][path].values():
            content = operation["responses"]["200"]["content"]
            assert content["application/json"]["schema"] != {}, path
    assert {"FileObject", "FileDeleted", "ChatCompletion", "Completion", "Model", "Readiness", "Health"} <= set(schemas)
    readyz = spec["paths"]["/readyz"]["get"]["responses"]
    assert readyz["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Readiness") and "503" in readyz
    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert "text/event-stream" in chat
    assert (
        "application/octet-stream" in spec["paths"]["/v1/files/{file_id}/content"]["get"]["responses"]["200"]["content"]
    )
