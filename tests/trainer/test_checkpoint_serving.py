"""A running job's checkpoints are models: `ftjob-…:ckpt-step-N` answers chat and completions while the job trains
and after, for its owner only, and stays out of the model list."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from services.trainer.jobs.kinds import FineTuningStore
from shared.jobs.records import JobStatus
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import Bucket, ObjectStore
from tests.helpers.gateway import gateway_client
from tests.helpers.inference import inference_server
from tests.helpers.workers import Workers, wait_for

pytestmark = pytest.mark.slow
ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}


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
    with (
        inference_server(redis_settings, storage_settings, cache) as inference_target,
        gateway_client(
            storage_settings,
            redis_settings,
            trainer_target=trainer_target,
            inference_target=inference_target,
        ) as client,
    ):
        yield client


def _training_file(client: TestClient) -> str:
    rows = [
        {"text": f"Field notebook, day {i}: measured the river at dawn.", "auth_weight": 0.2, "prov_entropy": 6.0}
        for i in range(24)
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode() + b"\n"
    response = client.post("/v1/files", headers=ALICE, data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", data)})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _sdk(client: TestClient, key: str = "key-alice") -> openai.OpenAI:
    return openai.OpenAI(base_url="http://testserver/v1", api_key=key, http_client=client, max_retries=0)


def test_checkpoints_are_served_while_the_job_runs_and_after(
    gateway: TestClient,
    workers: Workers,
    registered_model: str,
    redis_settings: RedisSettings,
    store: ObjectStore,
) -> None:
    body = {
        "model": registered_model,
        "training_file": _training_file(gateway),
        "seed": 3,
        "hyperparameters": {"n_epochs": 1000, "batch_size": 4, "checkpoint_every_steps": 2, "max_seq_length": 64},
    }
    created = gateway.post("/v1/fine_tuning/jobs", headers=ALICE, json=body)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]

    def first_checkpoint() -> dict[str, Any] | None:
        listed = gateway.get(f"/v1/fine_tuning/jobs/{job_id}/checkpoints", headers=ALICE).json()["data"]
        return listed[-1] if listed else None

    checkpoint = wait_for(first_checkpoint, 180, "the first checkpoint", poll_s=0.3)
    assert isinstance(checkpoint, dict), workers.logs()
    name = checkpoint["fine_tuned_model_checkpoint"]
    assert name == f"{job_id}:ckpt-step-{checkpoint['step_number']}"

    sdk = _sdk(gateway)
    chat = sdk.chat.completions.create(
        model=name, messages=[{"role": "user", "content": "hello"}], max_tokens=4, temperature=0
    )
    assert chat.model == name and chat.usage is not None and chat.usage.completion_tokens >= 1
    assert gateway.get(f"/v1/fine_tuning/jobs/{job_id}", headers=ALICE).json()["status"] == "running"

    completion = sdk.completions.create(model=name, prompt="The river", max_tokens=3, temperature=0)
    assert completion.choices[0].text is not None
    embedded = sdk.embeddings.create(model=name, input=["The river at dawn"])
    assert embedded.model == name and len(embedded.data[0].embedding) > 0

    with pytest.raises(openai.NotFoundError):
        _sdk(gateway, "key-bob").chat.completions.create(
            model=name, messages=[{"role": "user", "content": "hello"}], max_tokens=2
        )
    listed = {m.id for m in sdk.models.list()}
    assert name not in listed and registered_model in listed

    # The adapter is the checkpoint's own files, in the checkpoints bucket.
    registry = ModelRegistry(
        redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True), store
    )
    record = registry.get_adapter(name, owner="alice")
    assert record.bucket == Bucket.CHECKPOINTS and record.checkpoint_step == checkpoint["step_number"]
    assert set(record.files) == {"adapters.safetensors", "adapter_config.json"}
    archive = gateway.get(f"/v1/models/{name}/archive", headers=ALICE)
    assert archive.status_code == 200, archive.text
    with tarfile.open(fileobj=io.BytesIO(archive.content)) as tar:
        assert sorted(Path(n).name for n in tar.getnames() if n.endswith((".json", ".safetensors"))) == [
            "adapter_config.json",
            "adapters.safetensors",
        ]

    gateway.post(f"/v1/fine_tuning/jobs/{job_id}/cancel", headers=ALICE)
    jobs = FineTuningStore(redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True))
    wait_for(lambda: jobs.get(job_id).status == JobStatus.CANCELLED, 60, "the cancel")
    after = sdk.chat.completions.create(
        model=name, messages=[{"role": "user", "content": "hello"}], max_tokens=4, temperature=0
    )
    assert after.choices[0].message.content == chat.choices[0].message.content

    export = gateway.post("/v1/models/export", headers=ALICE, json={"model": name})
    assert export.status_code == 200, export.text
    export_id = export.json()["id"]

    def export_done() -> dict[str, Any] | None:
        found = gateway.get(f"/v1/models/exports/{export_id}", headers=ALICE).json()
        return found if found["status"] in {"succeeded", "failed", "cancelled"} else None

    finished = wait_for(export_done, 120, "the checkpoint's export")
    assert finished is not None and finished["status"] == "succeeded", (finished, workers.logs())
    assert finished["base_model"] == registered_model
