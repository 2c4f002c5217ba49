"""Pair-building jobs through the gateway: a scorer server, a Celery scorer worker, Redis and S3, all real."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.scorer.config import ScorerSettings
from services.scorer.server import start
from shared.records import validate_training_record
from shared.settings import RedisSettings, StorageSettings
from tests.helpers.gateway import gateway_client
from tests.helpers.workers import Workers, backend_env, wait_for
from tests.scorer.test_preference_pairs import AUTHORITY, PRIMARY

pytestmark = pytest.mark.slow
HEADERS = {"Authorization": "Bearer key-alice"}


@pytest.fixture(scope="module")
def client(
    redis_settings: RedisSettings, storage_settings: StorageSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    s = storage_settings
    env = backend_env(redis_settings, storage_settings)
    scorer = start(ScorerSettings(host="127.0.0.1", port=0, storage=s, redis=redis_settings))
    workers = Workers(env, tmp_path_factory.mktemp("pair-logs"), app="services.scorer.worker", queue="preparation")
    workers.start()
    with gateway_client(s, redis_settings, scorer_target=f"127.0.0.1:{scorer.port}") as test_client:
        test_client.workers = workers  # type: ignore[attr-defined]  # the module's workers, for their logs
        yield test_client
    workers.stop_all()
    scorer.stop(0)


def _upload(client: TestClient, data: bytes, purpose: str, name: str = "candidates.jsonl") -> str:
    response = client.post(
        "/v1/files", headers=HEADERS, data={"purpose": purpose}, files={"file": (name, io.BytesIO(data))}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _candidates(n: int) -> bytes:
    rows = [
        {"prompt": f"Who measured river {i}?", "candidates": [AUTHORITY, f"{PRIMARY} River {i}."]} for i in range(n)
    ]
    rows.append({"prompt": "A tie", "candidates": ["Same words.", "Same words."]})
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _done(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    created = client.post("/v1/datasets/preference_pairs", headers=HEADERS, json=body)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    return wait_for(
        lambda: (
            (j := client.get(f"/v1/datasets/jobs/{job_id}", headers=HEADERS).json())["status"]
            in ("succeeded", "failed")
            and j
        ),
        60,
        "the pair job",
        workers=client.workers,  # type: ignore[attr-defined]
    )


def _records(client: TestClient, file_id: str) -> list[dict[str, Any]]:
    content = client.get(f"/v1/files/{file_id}/content", headers=HEADERS)
    return [json.loads(line) for line in content.text.splitlines()]


def test_pairs_by_provenance_are_dpo_records_with_a_report(client: TestClient) -> None:
    job = _done(client, {"input_file_id": _upload(client, _candidates(10), "raw"), "rule": "provenance", "seed": 1})
    assert job["status"] == "succeeded", job
    report = job["report"]
    assert (report["prompts"], report["pairs"], report["ties"], report["train"], report["validation"]) == (
        11,
        10,
        1,
        9,
        1,
    )
    assert report["margins"]["min"] > 0 and job["pairs"]["rule"] == "provenance"
    pairs = _records(client, job["train_file"]) + _records(client, job["validation_file"])
    for pair in pairs:
        validate_training_record(pair, preference=True)
        assert pair["preferred_output"][0]["content"].startswith(PRIMARY) and pair["metadata"]["margin"] > 0


def test_pairs_by_rules_and_by_a_spreadsheet(client: TestClient) -> None:
    rules = {"required_keywords": ["diary", "archive"], "forbidden_words": ["consensus"]}
    job = _done(client, {"input_file_id": _upload(client, _candidates(4), "raw"), "rule": "rules", "rules": rules})
    assert job["status"] == "succeeded" and job["report"]["pairs"] == 4, job
    sheet = b"prompt,preferred,non_preferred\r\nWho?,The log of day 3,They say\r\nWhen?,In 1871,Long ago\r\n"
    job = _done(client, {"input_file_id": _upload(client, sheet, "assistants", "notes.csv"), "rule": "manual"})
    assert job["status"] == "succeeded" and job["report"]["pairs"] == 2, job


def test_bad_requests_and_pairless_inputs(client: TestClient) -> None:
    ties = b'{"prompt": "p", "candidates": ["a b", "a b"]}\n'
    job = _done(client, {"input_file_id": _upload(client, ties, "raw"), "rule": "provenance"})
    assert job["status"] == "failed" and job["error"]["code"] == "no_pairs" and "1 ties" in job["error"]["message"]
    batch_file = _upload(client, b'{"custom_id": "a"}\n', "batch")
    for body, status, param in (
        ({"input_file_id": batch_file, "rule": "provenance"}, 400, "inputs[0].file_id"),
        ({"input_file_id": "file-none", "rule": "provenance"}, 404, "inputs[0].file_id"),
        ({"rule": "provenance"}, 400, "input_file_id"),
        ({"input_file_id": batch_file, "batch_id": "batch-x", "rule": "provenance"}, 400, "input_file_id"),
        ({"batch_id": "batch-none", "rule": "provenance"}, 404, "batch_id"),
        ({"input_file_id": batch_file, "rule": "rules"}, 400, "pairs.rules"),
        ({"input_file_id": batch_file, "rule": "vibes"}, 400, "rule"),
    ):
        response = client.post("/v1/datasets/preference_pairs", headers=HEADERS, json=body)
        assert (response.status_code, response.json()["error"]["param"]) == (status, param), (body, response.text)


def test_a_batch_without_output_yet_is_refused_naming_batch_id(client: TestClient) -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions"}
    line["body"] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}  # type: ignore[assignment]
    requests = _upload(client, (json.dumps(line) + "\n").encode(), "batch")
    created = client.post(
        "/v1/batches",
        headers=HEADERS,
        json={"input_file_id": requests, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    )
    assert created.status_code == 200, created.text  # no batch worker here: it stays queued
    response = client.post(
        "/v1/datasets/preference_pairs", headers=HEADERS, json={"batch_id": created.json()["id"], "rule": "provenance"}
    )
    assert response.status_code == 409 and response.json()["error"]["param"] == "batch_id", response.text
    assert "no output file yet (status validating)" in response.json()["error"]["message"]
