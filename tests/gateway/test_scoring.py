"""POST /v1/score and dataset preparation jobs through the gateway and a real scorer service."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from fastapi.testclient import TestClient

from services.scorer.scoring import score_batch
from tests.gateway.users import ALICE, BOB

DOC = "According to the 1923 patent, the laboratory notebook records the original measurements [1]."


def test_score_returns_results_in_order_with_breakdown(scoring_client: TestClient) -> None:
    body = {
        "documents": [{"text": DOC, "metadata": {"source_type": "patent_pre1970"}}, {"text": "tiny"}],
        "profile": "reference",
    }
    response = scoring_client.post("/v1/score", headers=ALICE, json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    expected = list(score_batch([(DOC, {"source_type": "patent_pre1970"}), ("tiny", None)], profile="reference"))
    assert [d["index"] for d in data] == [0, 1]
    assert [d["auth_weight"] for d in data] == pytest.approx([e.auth_weight for e in expected])
    assert data[0]["scoring_method"] == "hybrid" and data[1]["scoring_method"] == "default"
    assert data[0]["breakdown"]["year"] == 1923 and data[0]["profile"] == "reference"
    # The whole breakdown, key order of the source counts included, is the library's.
    for got, want in zip(data, expected, strict=True):
        assert json.dumps(got["breakdown"]) == json.dumps(dataclasses.asdict(want.breakdown))


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"documents": [{"text": 42}]}, "documents[0].text"),
        ({"documents": [{"text": "ok"}], "profile": "lenient"}, "profile"),
        ({"documents": []}, "documents"),
        ({"documents": [{"text": DOC, "metadata": {"year": [1]}}]}, "documents[0].metadata.year"),
    ],
)
def test_bad_score_requests_name_the_field(scoring_client: TestClient, body: dict, param: str) -> None:
    response = scoring_client.post("/v1/score", headers=ALICE, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_score_needs_a_key(scoring_client: TestClient) -> None:
    assert scoring_client.post("/v1/score", json={"documents": [{"text": DOC}]}).status_code == 401


def _wait(client: TestClient, job_id: str, headers: dict) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/datasets/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_prepare_job_end_to_end(scoring_client: TestClient) -> None:
    low = [
        {
            "text": f"Original letters and field notes from 18{i:02d}, lab notebook entry {i}, primary source "
            f"observations recorded by hand."
        }
        for i in range(40)
    ]
    high = [
        {"text": f"The WHO said officials agree, according to experts at the agency, consensus item {i} (2021)."}
        for i in range(40)
    ]
    lines = "\n".join(json.dumps(r) for r in low + high) + "\nnot json\n"
    upload = scoring_client.post(
        "/v1/files", headers=ALICE, data={"purpose": "assistants"}, files={"file": ("mixed.jsonl", lines.encode())}
    )
    file_id = upload.json()["id"]
    # `assistants` files are not accepted as preparation inputs: refused before a job exists.
    refused = scoring_client.post(
        "/v1/datasets/prepare", headers=ALICE, json={"inputs": [{"file_id": file_id}], "options": {"seed": 3}}
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "inputs[0].file_id"

    raw = scoring_client.post(
        "/v1/files",
        headers=ALICE,
        data={"purpose": "raw"},
        files={"file": ("mixed.jsonl", lines.replace("not json\n", "{}\n").encode())},
    )
    created = scoring_client.post(
        "/v1/datasets/prepare",
        headers=ALICE,
        json={
            "inputs": [{"file_id": raw.json()["id"]}],
            "options": {"seed": 3, "min_length": 20, "val_fraction": 0.25},
        },
    )
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "queued" and created.json()["options"]["min_length"] == 20
    job = _wait(scoring_client, created.json()["id"], ALICE)
    assert job["status"] == "succeeded", job
    assert job["object"] == "dataset.preparation" and job["progress"]["stage"] == "done"
    assert job["profile"] == "strict" and job["error"] is None and job["started_at"] is not None
    assert job["report"]["rejected"]["total"] == 1 and "owner" not in job
    train = scoring_client.get(f"/v1/files/{job['train_file']}/content", headers=ALICE).text.splitlines()
    val = scoring_client.get(f"/v1/files/{job['validation_file']}/content", headers=ALICE).text.splitlines()
    assert len(train) == job["report"]["split"]["train"] and len(val) == job["report"]["split"]["val"]
    assert all({"auth_weight", "prov_entropy"} <= set(json.loads(x)) for x in train)
    report = scoring_client.get(f"/v1/files/{job['report_file']}/content", headers=ALICE).json()
    assert report["split"] == job["report"]["split"]
    assert scoring_client.get(f"/v1/datasets/jobs/{job['id']}", headers=BOB).status_code == 404
    finished = scoring_client.post(f"/v1/datasets/jobs/{job['id']}/cancel", headers=ALICE)
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "job_finished"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"inputs": []}, "inputs"),
        ({"inputs": [{"file_id": "file-x"}], "options": {"sed": 7}}, "sed"),
        ({"inputs": [{"file_id": "file-x"}], "options": {"val_fraction": 2}}, "val_fraction"),
        (
            {"inputs": [{"file_id": "file-x"}], "profile": "strict", "options": {"profile": "reference"}},
            "options.profile",
        ),
        ({"inputs": [{"file_id": "file-x"}], "extra": 1}, "extra"),
        ({"inputs": [{"file_id": "file-x"}]}, "inputs[0].file_id"),
    ],
)
def test_prepare_validates_the_request(scoring_client: TestClient, body: dict, param: str) -> None:
    response = scoring_client.post("/v1/datasets/prepare", headers=ALICE, json=body)
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["param"] == param


def test_missing_dataset_job_is_404(scoring_client: TestClient) -> None:
    response = scoring_client.get("/v1/datasets/jobs/dsjob-nope", headers=ALICE)
    assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"


def test_openapi_documents_the_scoring_responses(scoring_client: TestClient) -> None:
    paths = scoring_client.get("/openapi.json", headers=ALICE).json()["paths"]
    for path, method in (
        ("/v1/score", "post"),
        ("/v1/datasets/prepare", "post"),
        ("/v1/datasets/jobs/{job_id}", "get"),
    ):
        schema = paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema, (path, schema)
