"""The CLI's gateway client against a real gateway: uploads, bodies read as the gateway's response models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cli.client import GatewayClient
from services.gateway.app import create_app
from services.gateway.schemas.evaluation import Eval
from shared.errors import InternalError, NotFound
from shared.settings import RedisSettings, StorageSettings
from tests.gateway.conftest import make_settings


@pytest.fixture
def gateway(
    storage_settings: StorageSettings, redis_settings: RedisSettings, redis_client: object
) -> Iterator[GatewayClient]:
    client = GatewayClient("http://testserver", "key-alice")
    with TestClient(create_app(make_settings(storage_settings, redis_settings))) as http:
        http.headers.update(client.http.headers)
        client.http = http
        yield client


def test_upload_returns_the_new_file_id(gateway: GatewayClient, tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a record", "auth_weight": 0.2, "prov_entropy": 5.0}\n')
    file_id = gateway.upload(path, "fine-tune")
    assert file_id.startswith("file-")
    assert gateway.request("GET", f"/v1/files/{file_id}")["filename"] == "train.jsonl"


def test_a_body_of_another_shape_is_an_internal_error_naming_the_route(gateway: GatewayClient, tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('{"question": "q"}\n')
    file_id = gateway.upload(path, "evals")
    with pytest.raises(InternalError) as err:
        gateway.fetch(Eval, "GET", f"/v1/files/{file_id}")
    assert f"/v1/files/{file_id}" in err.value.message and "Eval" in err.value.message
    with pytest.raises(NotFound):
        gateway.fetch(Eval, "GET", "/v1/files/file-missing")
