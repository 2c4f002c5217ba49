"""Fine-tuning routes: HTTP -> gateway -> a real trainer gRPC server (jobs recorded, not trained) -> Redis / S3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

from services.trainer.config import TrainerSettings
from services.trainer.jobs.kinds import FineTuningStore
from services.trainer.jobs.records import CheckpointRecord
from services.trainer.server import start
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import status_event
from shared.schemas.fine_tuning import CheckpointMetrics
from shared.settings import RedisSettings, StorageSettings
from tests.helpers.gateway import gateway_client

HEADERS = {"Authorization": "Bearer key-alice"}
SCORED = "\n".join(
    json.dumps({"text": f"example {i}", "auth_weight": 0.1 * (i % 9), "prov_entropy": 5.0}) for i in range(8)
).encode()


@pytest.fixture(scope="module")
def queued() -> list[str]:
    return []


@pytest.fixture(scope="module")
def client(
    storage_settings: StorageSettings, redis_settings: RedisSettings, registered_model: str, queued: list[str]
) -> Iterator[TestClient]:
    trainer = start(
        TrainerSettings(host="127.0.0.1", port=0, redis=redis_settings, storage=storage_settings),
        enqueue=queued.append,
    )
    with gateway_client(storage_settings, redis_settings, trainer_target=f"127.0.0.1:{trainer.port}") as test_client:
        yield test_client
    trainer.stop(0)


@pytest.fixture(scope="module")
def jobs(redis_settings: RedisSettings) -> FineTuningStore:
    return FineTuningStore(redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True))


@pytest.fixture(scope="module")
def training_file(client: TestClient) -> str:
    files = {"file": ("train.jsonl", SCORED)}
    response = client.post("/v1/files", headers=HEADERS, data={"purpose": "fine-tune"}, files=files)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _create(client: TestClient, body: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/fine_tuning/jobs", headers=HEADERS, json=body)


def test_a_created_job_is_openais_object_with_our_extensions(
    client: TestClient, training_file: str, registered_model: str, queued: list[str]
) -> None:
    body = {
        "model": registered_model,
        "training_file": training_file,
        "seed": 3,
        "suffix": "api",
        "hyperparameters": {"batch_size": 2, "n_epochs": "auto", "learning_rate_multiplier": None},
        "distrust": {"mode": "additive", "lambda": 0.4},
        "lora": {"rank": 4, "keys": ["self_attn.q_proj"]},
    }
    response = _create(client, body)
    assert response.status_code == 200, response.text
    job = response.json()
    FineTuningJob.model_validate(job)
    assert job["object"] == "fine_tuning.job" and job["status"] == "queued" and queued[-1] == job["id"]
    hp = job["hyperparameters"]
    assert (hp["n_epochs"], hp["batch_size"], hp["learning_rate_multiplier"], hp["learning_rate"]) == (3, 2, 1.0, 2e-4)
    assert job["method"] == {"type": "supervised", "supervised": {"hyperparameters": hp}}
    assert job["distrust"]["lambda"] == 0.4 and job["distrust"]["mode"] == "additive"
    assert job["lora"]["rank"] == 4 and job["lora"]["keys"] == ["self_attn.q_proj"]
    assert (job["organization_id"], job["seed"], job["suffix"], job["validation_file"]) == ("alice", 3, "api", None)
    assert client.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=HEADERS).json() == job


def test_method_supervised_hyperparameters_are_the_job_hyperparameters(
    client: TestClient, training_file: str, registered_model: str
) -> None:
    method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}}
    job = _create(client, {"model": registered_model, "training_file": training_file, "method": method}).json()
    assert job["hyperparameters"]["n_epochs"] == 2
    both = {"model": registered_model, "training_file": training_file, "method": method, "hyperparameters": {}}
    response = _create(client, both)
    assert response.status_code == 400 and response.json()["error"]["param"] == "hyperparameters"


@pytest.mark.parametrize(
    ("changes", "param", "text"),
    [
        (
            {"hyperparameters": {"batch_size": 0}},
            "hyperparameters.batch_size",
            "got 0, expected an integer in [1, 1024]",
        ),
        ({"hyperparameters": {"learning_rate_multiplier": 50_000.0}}, "hyperparameters.learning_rate_multiplier", ""),
        ({"distrust": {"alpha": 3.5}}, "distrust.alpha", "got 3.5"),
        ({"distrust": {"mode": "weird"}}, "distrust.mode", "weird"),
        ({"lora": {"rank": 0}}, "lora.rank", "got 0"),
        ({"lora": {"ranks": 4}}, "lora.ranks", ""),
        ({"hyperparameters": {"batch_size": True}}, "hyperparameters.batch_size", ""),
        ({"suffix": "no spaces"}, "suffix", "no spaces"),
        ({"integrations": [{"type": "wandb"}]}, "integrations", "not supported"),
        ({"metadata": {"team": "a"}}, "metadata", "not supported"),
        ({"hyperparameters": {"n_epochs": -1}}, "hyperparameters.n_epochs", ""),
        ({"hyperparameters": {"n_epochs": 2**64}}, "hyperparameters.n_epochs", ""),
        ({"hyperparameters": {"max_steps": -5}}, "hyperparameters.max_steps", ""),
        ({"hyperparameters": {"warmup_steps": 2**64}}, "hyperparameters.warmup_steps", ""),
        ({"hyperparameters": {"n_epochs": "3"}}, "hyperparameters.n_epochs", ""),
        ({"lora": {"rank": -1}}, "lora.rank", ""),
        ({"lora": {"rank": 2**64}}, "lora.rank", ""),
        ({"seed": -1}, "seed", ""),
        ({"seed": 2**64}, "seed", ""),
        ({"model": "m" * 100_000}, "model", ""),
        ({"training_file": "f" * 100_000}, "training_file", ""),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: TestClient, training_file: str, registered_model: str, changes: dict[str, Any], param: str, text: str
) -> None:
    response = _create(client, {"model": registered_model, "training_file": training_file, **changes})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"].startswith(param) and text in error["message"]  # a union's member may follow the name


def test_list_cancel_events_and_checkpoints(
    client: TestClient, training_file: str, registered_model: str, jobs: FineTuningStore
) -> None:
    first = _create(client, {"model": registered_model, "training_file": training_file}).json()
    listed = client.get("/v1/fine_tuning/jobs", headers=HEADERS, params={"limit": 1}).json()
    assert listed["object"] == "list" and listed["has_more"] and listed["data"][0]["id"] == listed["first_id"]
    FineTuningJob.model_validate(listed["data"][0])

    data = {"step": 1, "total_steps": 4, "train_loss": 2.5, "val_loss": None, "tokens": 12}
    jobs.add_event(first["id"], EventRecord(message="Step 1/4", type="metrics", data=data))
    metrics = CheckpointMetrics(step=1, train_loss=2.5)
    jobs.add_checkpoint(CheckpointRecord(job_id=first["id"], step=1, storage_prefix="p", metrics=metrics))

    events = client.get(f"/v1/fine_tuning/jobs/{first['id']}/events", headers=HEADERS).json()
    newest = events["data"][0]
    assert newest["type"] == "metrics" and newest["data"] == data and events["first_id"] == newest["id"]
    FineTuningJobEvent.model_validate(newest)
    assert events["data"][-1]["type"] == "status" and events["data"][-1]["status"] == "queued"

    page = client.get(f"/v1/fine_tuning/jobs/{first['id']}/checkpoints", headers=HEADERS).json()
    checkpoint = page["data"][0]
    FineTuningJobCheckpoint.model_validate(checkpoint)
    assert checkpoint["metrics"] == {"step": 1, "train_loss": 2.5, "val_loss": None}
    assert checkpoint["fine_tuning_job_id"] == first["id"] and checkpoint["step_number"] == 1

    cancelled = client.post(f"/v1/fine_tuning/jobs/{first['id']}/cancel", headers=HEADERS).json()
    assert cancelled["status"] == "cancelling"
    bob = {"Authorization": "Bearer key-bob"}
    assert client.get(f"/v1/fine_tuning/jobs/{first['id']}", headers=bob).status_code == 404
    assert client.get(f"/v1/fine_tuning/jobs/{first['id']}/events", headers=bob).status_code == 404
    adapter = client.get(f"/v1/fine_tuning/jobs/{first['id']}/adapter", headers=HEADERS)
    assert adapter.status_code == 409 and adapter.json()["error"]["code"] == "adapter_not_ready"


def test_openapi_documents_every_fine_tuning_response(client: TestClient) -> None:
    paths = client.get("/openapi.json", headers=HEADERS).json()["paths"]
    for path, methods in paths.items():
        if path.startswith("/v1/fine_tuning/") and not path.endswith(("/adapter", "/loss.png")):
            for operation in methods.values():
                content = operation["responses"]["200"]["content"]["application/json"]
                assert content["schema"], (path, operation["summary"])


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("data: "):
            yield line.removeprefix("data: ")


@pytest.mark.timeout(60)
def test_a_followed_event_stream_ends_when_the_job_ends(
    client: TestClient, training_file: str, registered_model: str, jobs: FineTuningStore
) -> None:
    job = _create(client, {"model": registered_model, "training_file": training_file}).json()
    url = f"/v1/fine_tuning/jobs/{job['id']}/events"
    with client.stream("GET", url, headers=HEADERS, params={"stream": "true"}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        data = _sse_data(response.iter_lines())
        assert json.loads(next(data))["status"] == "queued"  # the creation event, taken before the 200
        jobs.add_event(job["id"], EventRecord(message="Step 1/4", type="metrics", data={"step": 1}))
        assert json.loads(next(data))["type"] == "metrics"  # followed live
        jobs.add_event(job["id"], status_event("Job succeeded", JobStatus.SUCCEEDED))
        jobs.update(job["id"], lambda record: setattr(record, "status", JobStatus.SUCCEEDED))
        assert json.loads(next(data))["status"] == "succeeded"
        assert list(data) == ["[DONE]"]  # and the stream ends with the job


def test_an_unknown_or_foreign_jobs_stream_is_a_404(
    client: TestClient, training_file: str, registered_model: str
) -> None:
    job = _create(client, {"model": registered_model, "training_file": training_file}).json()
    bob = {"Authorization": "Bearer key-bob"}
    for job_id, headers in ((job["id"], bob), ("ftjob-unknown", HEADERS)):
        response = client.get(f"/v1/fine_tuning/jobs/{job_id}/events", headers=headers, params={"stream": "true"})
        assert response.status_code == 404 and response.json()["error"]["param"], response.text


def test_checkpoints_page_newest_first(
    client: TestClient, training_file: str, registered_model: str, jobs: FineTuningStore
) -> None:
    job_id = _create(client, {"model": registered_model, "training_file": training_file}).json()["id"]
    for step in (1, 3, 2):
        jobs.add_checkpoint(CheckpointRecord(job_id=job_id, step=step, storage_prefix="p"))
    url = f"/v1/fine_tuning/jobs/{job_id}/checkpoints"
    first = client.get(url, headers=HEADERS, params={"limit": 2}).json()
    assert [c["step_number"] for c in first["data"]] == [3, 2] and first["has_more"]
    rest = client.get(url, headers=HEADERS, params={"limit": 2, "after": first["last_id"]}).json()
    assert [c["step_number"] for c in rest["data"]] == [1] and not rest["has_more"]


PAIRS = "\n".join(
    json.dumps(
        {
            "input": {"messages": [{"role": "user", "content": f"Who saw event {i}?"}]},
            "preferred_output": [{"role": "assistant", "content": f"The diary of day {i} records it."}],
            "non_preferred_output": [{"role": "assistant", "content": "Everyone agrees."}],
        }
    )
    for i in range(4)
).encode()


@pytest.fixture(scope="module")
def pairs_file(client: TestClient) -> str:
    files = {"file": ("pairs.jsonl", PAIRS)}
    response = client.post("/v1/files", headers=HEADERS, data={"purpose": "fine-tune"}, files=files)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_a_dpo_job_is_openais_object_with_beta_and_our_preference(
    client: TestClient, pairs_file: str, registered_model: str, queued: list[str]
) -> None:
    method = {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.25, "n_epochs": 2}}}
    preference = {"loss": "ipo", "rpo_alpha": 0.5}
    body = {"model": registered_model, "training_file": pairs_file, "method": method, "preference": preference}
    response = _create(client, body)
    assert response.status_code == 200, response.text
    job = response.json()
    FineTuningJob.model_validate(job)
    assert queued[-1] == job["id"] and job["method"]["type"] == "dpo"
    assert job["method"]["dpo"]["hyperparameters"] == {**job["hyperparameters"], "beta": 0.25}
    assert job["hyperparameters"]["n_epochs"] == 2 and job["distrust"]["mode"] == "none"
    assert job["preference"] == {"loss": "ipo", "beta": 0.25, "gamma": 0.5, "weight_by_margin": False, "rpo_alpha": 0.5}
    auto = _create(client, {"model": registered_model, "training_file": pairs_file, "method": {"type": "dpo"}}).json()
    assert auto["preference"]["beta"] == 0.1 and auto["method"]["dpo"]["hyperparameters"]["beta"] == 0.1


@pytest.mark.parametrize(
    ("changes", "param", "text"),
    [
        ({"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0}}}}, "hyperparameters.beta", "(0, 100]"),
        ({"method": {"type": "dpo"}, "preference": {"beta": 500}}, "preference.beta", "got 500"),
        ({"method": {"type": "dpo"}, "preference": {"loss": "orpo"}}, "preference.loss", "orpo"),
        ({"method": {"type": "dpo"}, "preference": {"rpo_alpha": -1}}, "preference.rpo_alpha", "got -1"),
        ({"method": {"type": "dpo", "supervised": {}}}, "method.supervised", "not allowed"),
        ({"method": {"type": "supervised", "dpo": {}}}, "method.dpo", "not allowed"),
        ({"method": {"type": "dpo"}, "distrust": {"mode": "none"}}, "distrust", "not used"),
        ({"preference": {"loss": "ipo"}}, "preference", "only for"),
        (
            {"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}}, "preference": {"beta": 0.3}},
            "preference.beta",
            "not both",
        ),
        ({"method": {"type": "rlhf"}}, "method.type", ""),
    ],
)
def test_bad_dpo_input_is_a_400_naming_the_field(
    client: TestClient, pairs_file: str, registered_model: str, changes: dict[str, Any], param: str, text: str
) -> None:
    response = _create(client, {"model": registered_model, "training_file": pairs_file, **changes})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"].startswith(param) and text in error["message"], error


def test_a_file_of_the_other_kind_is_refused_naming_the_line(
    client: TestClient, pairs_file: str, training_file: str, registered_model: str
) -> None:
    dpo = _create(client, {"model": registered_model, "training_file": training_file, "method": {"type": "dpo"}})
    assert dpo.status_code == 400 and dpo.json()["error"]["param"] == "training_file"
    assert "line 1: a text record is not a preference pair" in dpo.json()["error"]["message"]
    supervised = _create(client, {"model": registered_model, "training_file": pairs_file})
    assert supervised.status_code == 400 and "line 1: a preference pair is not" in supervised.json()["error"]["message"]
    mixed = {"model": registered_model, "training_file": pairs_file, "validation_file": training_file}
    response = _create(client, {**mixed, "method": {"type": "dpo"}})
    assert response.status_code == 400 and response.json()["error"]["param"] == "validation_file"
