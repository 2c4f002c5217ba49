"""Model import end to end on the real model: the SmolLM2 GGUF uploaded through the gateway, imported by a Celery
worker process, then served: an OpenAI-SDK chat answers the fact and the model shows its provenance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.trainer.imports.gguf import file_sha256
from shared.settings import RedisSettings, StorageSettings, load_settings
from tests.helpers.inference import inference_server
from tests.helpers.smollm2 import smollm2_gguf
from tests.helpers.workers import Workers, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.real_model]
HEADERS = {"Authorization": "Bearer key-alice"}
NAME = "smollm2-imported"


@pytest.fixture(scope="module")
def gateway(
    storage_settings: StorageSettings,
    redis_settings: RedisSettings,
    trainer_target: str,
    workers: Workers,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    workers.start()
    cache = tmp_path_factory.mktemp("inference-cache")
    with inference_server(redis_settings, storage_settings, cache) as inference_target:
        settings = load_settings(
            GatewaySettings,
            storage=storage_settings,
            redis=redis_settings,
            api_keys="key-alice=alice",
            trainer_target=trainer_target,
            inference_target=inference_target,
        )
        with TestClient(create_app(settings)) as client:
            yield client


def test_import_the_smollm2_gguf_then_chat_with_it(gateway: TestClient, workers: Workers) -> None:
    gguf = smollm2_gguf()
    with gguf.open("rb") as stream:
        uploaded = gateway.post("/v1/files", headers=HEADERS, data={"purpose": "model"}, files={"file": stream})
    assert uploaded.status_code == 200, uploaded.text
    created = gateway.post("/v1/models", headers=HEADERS, json={"file": uploaded.json()["id"], "name": NAME})
    assert created.status_code == 200, created.text

    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = gateway.get(f"/v1/models/imports/{created.json()['id']}", headers=HEADERS).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    job = wait_for(done, 600, "the import", poll_s=0.5)
    assert isinstance(job, dict) and job["status"] == "succeeded", (job, workers.logs())

    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="key-alice", http_client=gateway, max_retries=0)
    chat = sdk.chat.completions.create(
        model=NAME,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
        max_tokens=16,
    )
    assert "Paris" in (chat.choices[0].message.content or ""), chat

    model = gateway.get(f"/v1/models/{NAME}", headers=HEADERS).json()
    assert model["owned_by"] == "alice" and model["kind"] == "base"
    assert model["provenance"] == {
        "source": "gguf",
        "file_name": gguf.name,
        "sha256": file_sha256(gguf),
        "quantization": "Q4_1",
        "bits": 4,
        "dtype": "float32",
        "parameter_count": 134_515_008,
        "architecture": "llama",
    }
    assert job["provenance"] == model["provenance"]
