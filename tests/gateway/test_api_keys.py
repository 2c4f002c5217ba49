"""Managed API keys: created by an admin key with scopes, stored hashed, revoked on every replica at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from shared.settings import RedisSettings, StorageSettings
from tests.gateway.users import ALICE
from tests.helpers.gateway import gateway_client, gateway_test_settings


@pytest.fixture
def gateways(
    storage_settings: StorageSettings, redis_settings: RedisSettings
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two replicas of the gateway on one Redis, as compose would run them."""
    with (
        gateway_client(storage_settings, redis_settings, key_secret="deployment-secret") as first,
        gateway_client(storage_settings, redis_settings, key_secret="deployment-secret") as second,
    ):
        yield first, second


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _create(client: TestClient, **body: object) -> dict:
    response = client.post("/v1/api_keys", headers=ALICE, json={"name": "bot", **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_key_is_shown_once_stored_hashed_and_revoked_everywhere(
    gateways: tuple[TestClient, TestClient], redis_settings: RedisSettings
) -> None:
    first, second = gateways
    created = _create(first, owner="carol", scopes=["files"])
    value = created["value"]
    assert value.startswith("sk-dt-") and created["owner"] == "carol" and created["scopes"] == ["files"]
    assert value not in created["redacted_value"] and created["redacted_value"].endswith(value[-4:])

    # Only a keyed hash is stored: the secret is nowhere in Redis.
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value())
    for name in client.scan_iter("apikey*"):
        stored = client.get(name) if client.type(name) == b"string" else b""
        assert value.encode() not in (stored or b"")

    assert second.get("/v1/files", headers=_bearer(value)).status_code == 200  # the other replica knows it
    listed = first.get("/v1/api_keys", headers=ALICE).json()["data"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "value" not in mine and mine["last_used_at"] is not None

    assert first.delete(f"/v1/api_keys/{created['id']}", headers=ALICE).json()["deleted"] is True
    time.sleep(1.0)  # the replicas' lookup cache lives at most half a second
    for replica in gateways:
        refused = replica.get("/v1/files", headers=_bearer(value))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert first.delete(f"/v1/api_keys/{created['id']}", headers=ALICE).status_code == 404


def test_scopes_are_enforced_with_a_403_naming_the_scope(gateways: tuple[TestClient, TestClient]) -> None:
    first, _ = gateways
    files_only = _bearer(_create(first, scopes=["files"])["value"])
    assert first.get("/v1/files", headers=files_only).status_code == 200
    denied = [
        ("GET", "/v1/fine_tuning/jobs"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/some-model"),
        ("GET", "/v1/models/exports"),
        ("GET", "/v1/api_keys"),
    ]
    for method, path in denied:
        response = first.request(method, path, headers=files_only, json={})
        assert response.status_code == 403, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "missing_scope" and error["type"] == "permission_error"
    inference = _bearer(_create(first, scopes=["inference"])["value"])
    assert first.post("/v1/api_keys", headers=inference, json={"name": "x"}).status_code == 403


def test_bad_key_requests_name_the_field(gateways: tuple[TestClient, TestClient]) -> None:
    first, _ = gateways
    for body, param in [
        ({"name": "x", "scopes": ["root"]}, "scopes[0]"),
        ({"name": ""}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "owner": "../etc"}, "owner"),
        ({"name": "x", "expires": 3}, "expires"),
    ]:
        response = first.post("/v1/api_keys", headers=ALICE, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["param"] == param, response.text


def test_without_a_deployment_secret_keys_cannot_be_made(
    storage_settings: StorageSettings, redis_settings: RedisSettings
) -> None:
    with TestClient(create_app(gateway_test_settings(storage_settings, redis_settings))) as client:
        response = client.post("/v1/api_keys", headers=ALICE, json={"name": "bot"})
        assert response.status_code == 409 and "DISTRUST_GATEWAY_KEY_SECRET" in response.json()["error"]["message"]
