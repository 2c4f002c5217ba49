"""The seed's bot control API end to end: a profile's data → should-train → train → the alias moves → initialize
→ the bot chats through its alias (official `openai` SDK), with real gateway, trainer, Celery workers and inference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from shared.settings import RedisSettings, StorageSettings
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
    scorer_target: str,
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
            scorer_target=scorer_target,
            inference_target=inference_target,
        ) as client,
    ):
        yield client


def _data(client: TestClient, n: int, day: int) -> str:
    rows = [
        {"text": f"Field notebook, day {day + i}: measured the river at dawn.", "auth_weight": 0.2, "prov_entropy": 6.0}
        for i in range(n)
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode() + b"\n"
    response = client.post("/v1/files", headers=ALICE, data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", data)})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _finished(client: TestClient, job_id: str) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        job = client.get(f"/v1/fine_tuning/jobs/{job_id}", headers=ALICE).json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    job = wait_for(ended, 240, f"job {job_id}", poll_s=0.3)
    assert isinstance(job, dict)
    return job


def test_a_bot_trains_on_its_data_and_chats_through_its_alias(
    gateway: TestClient, workers: Workers, registered_model: str
) -> None:
    profile = gateway.put(
        "/api/ml/profiles/default",
        headers=ALICE,
        json={"base_model": registered_model, "policy": {"min_new_examples": 20}, "hyperparameters": {"n_epochs": 1}},
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["alias"] == "default" and profile.json()["files"] == []
    status = gateway.get("/api/ml/status", headers=ALICE).json()
    assert status["model"] == registered_model and status["alias"] is None and status["ready"], status
    due = gateway.get("/api/ml/should-train", headers=ALICE).json()
    assert due["should_train"] is False and "no new examples" in due["reasons"][0]
    refused = gateway.post("/api/ml/train", headers=ALICE, json={"epochs": 1})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "training_not_due"

    gateway.post("/api/ml/profiles/default/data", headers=ALICE, json={"file_id": _data(gateway, 12, 0)})
    due = gateway.get("/api/ml/should-train", headers=ALICE).json()
    assert due["should_train"] is False and due["new_examples"] == 12 and "12 new examples < " in due["reasons"][0]
    gateway.post("/api/ml/profiles/default/data", headers=ALICE, json={"file_id": _data(gateway, 12, 100)})
    due = gateway.get("/api/ml/should-train", headers=ALICE).json()
    assert due["should_train"] is True and due["new_examples"] == 24 and due["new_files"] == 2

    started = gateway.post("/api/ml/train", headers=ALICE, json={"epochs": 1})
    assert started.status_code == 200, started.text
    first = started.json()
    assert first["examples"] == 24 and first["job"]["model"] == registered_model and first["job"]["alias"] == "default"
    assert first["training_file"] not in {f["file_id"] for f in profile.json()["files"]}  # the two files joined
    busy = gateway.post("/api/ml/train", headers=ALICE, json={"epochs": 1})
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "job_running"
    running = gateway.get("/api/ml/status", headers=ALICE).json()
    assert running["running_job"]["id"] == first["job"]["id"] or running["last_job"]["id"] == first["job"]["id"]

    job = _finished(gateway, first["job"]["id"])
    assert job["status"] == "succeeded", (job, workers.logs())
    status = gateway.get("/api/ml/status", headers=ALICE).json()
    assert status["model"] == "ft:alias:default" and status["alias"]["model"] == job["fine_tuned_model"]
    assert status["last_job"]["status"] == "succeeded" and status["last_job"]["train_loss"] > 0
    assert status["running_job"] is None and status["new_examples"] == 0 and status["ready"], status

    warmed = gateway.post("/api/ml/initialize", headers=ALICE)
    assert warmed.status_code == 200, warmed.text
    assert warmed.json()["loaded"] and warmed.json()["pinned"] and warmed.json()["target"] == job["fine_tuned_model"]
    warm = gateway.get("/api/ml/status", headers=ALICE).json()
    assert warm["loaded"] and warm["inference"]["base_model"] == registered_model, warm
    assert warm["inference"]["adapters"][job["fine_tuned_model"]] is True  # pinned
    assert warm["inference"]["queued_requests"] == 0 and warm["inference"]["cache_capacity"] >= 1
    assert gateway.get("/api/ml/status", headers=BOB, params={"profile": "default"}).status_code == 404
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="key-alice", http_client=gateway, max_retries=0)
    chat = sdk.chat.completions.create(
        model="ft:alias:default", messages=[{"role": "user", "content": "hello"}], max_tokens=4, temperature=0
    )
    assert chat.choices[0].message.content is not None and chat.usage and chat.usage.completion_tokens >= 1
    assert "ft:alias:default" in {m.id for m in sdk.models.list()}

    # More data, not enough for the policy: force trains anyway, continuing the alias's model, behind a gate.
    gated = {"metric": "source_preference.accuracy", "tolerance": 1.0, "limit": 4}
    policy = {"min_new_examples": 20, "max_loss_drift": 50.0}
    settings = {"base_model": registered_model, "policy": policy, "alias_gate": gated}
    assert gateway.put("/api/ml/profiles/default", headers=ALICE, json=settings).status_code == 200
    gateway.post("/api/ml/profiles/default/data", headers=ALICE, json={"file_id": _data(gateway, 8, 200)})
    due = gateway.get("/api/ml/should-train", headers=ALICE).json()
    assert due["should_train"] is False and due["new_examples"] == 8, due
    drift = next(r for r in due["reasons"] if r.startswith("loss drift on new examples"))
    assert drift.endswith("< max_loss_drift 50.0") and float(drift.split()[5]) > -50, drift
    forced = gateway.post("/api/ml/train", headers=ALICE, json={"epochs": 1, "force": True})
    assert forced.status_code == 200, forced.text
    second = forced.json()
    assert second["forced"] and second["examples"] == 8 and second["job"]["model"] == job["fine_tuned_model"]
    done = _finished(gateway, second["job"]["id"])
    assert done["status"] == "succeeded", (done, workers.logs())
    assert done["alias_gate"] == gated
    events = gateway.get(f"/v1/fine_tuning/jobs/{done['id']}/events", headers=ALICE, params={"limit": 100}).json()
    gate = next(e for e in events["data"] if e["type"] == "gate")
    assert gate["data"]["passed"] and gate["data"]["incumbent_model"] == job["fine_tuned_model"], gate
    assert 0 <= gate["data"]["candidate"] <= 1 and 0 <= gate["data"]["incumbent"] <= 1
    alias = gateway.get("/v1/aliases/default", headers=ALICE).json()
    assert alias["model"] == done["fine_tuned_model"] and alias["history"][1]["model"] == job["fine_tuned_model"]
    rolled = gateway.post("/v1/aliases/default/rollback", headers=ALICE).json()
    assert rolled["model"] == job["fine_tuned_model"]


def test_bot_requests_that_cannot_be_served(gateway: TestClient, registered_model: str) -> None:
    missing = gateway.get("/api/ml/status", headers=BOB, params={"profile": "nobody"})
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "profile"
    bad = gateway.put("/api/ml/profiles/bad name", headers=BOB, json={"base_model": registered_model})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "profile"
    foreign = gateway.put("/api/ml/profiles/b", headers=BOB, json={"base_model": "ft:alias:default"})
    assert foreign.status_code == 400 and foreign.json()["error"]["param"] == "base_model"
    unknown_field = gateway.put("/api/ml/profiles/b", headers=BOB, json={"base_model": registered_model, "x": 1})
    assert unknown_field.status_code == 400 and "x" in unknown_field.text
    gateway.put("/api/ml/profiles/b", headers=BOB, json={"base_model": registered_model})
    not_yours = gateway.post("/api/ml/profiles/b/data", headers=BOB, json={"file_id": "file-000"})
    assert not_yours.status_code == 400 and not_yours.json()["error"]["param"] == "file_id"
    no_data = gateway.post("/api/ml/train", headers=BOB, params={"profile": "b"}, json={"force": True})
    assert no_data.status_code == 409 and no_data.json()["error"]["code"] == "no_training_data"
    assert gateway.get("/api/ml/status", headers={}).status_code == 401


def _export(conversations: int, *, start: int = 0) -> bytes:
    """A Discord-style export: `conversations` threads of three people, a bot line, a command, a broken line."""
    lines = []
    for c in range(start, start + conversations):
        base = f"2026-05-{1 + c % 28:02d}T{10 + c % 10:02d}:00:00+00:00"
        for i, (author, text) in enumerate(
            [
                ("alice", f"Measured the river at dawn, day {c}: 2.{c % 10} m. Mail alice@example.org"),
                ("bob", f"Thanks alice, my notebook for day {c} agrees: https://example.org/{c}"),
                ("carol", f"Both readings match the gauge on day {c}."),
            ]
        ):
            lines.append(
                {
                    "id": f"{c}-{i}",
                    "channel": "river",
                    "thread": f"t{c}",
                    "timestamp": base,
                    "author": {"id": author, "name": author, "email": f"{author}@example.org"},
                    "content": text,
                }
            )
        lines.append(
            {
                "id": f"{c}-bot",
                "channel": "river",
                "thread": f"t{c}",
                "timestamp": base,
                "author": {"id": "b", "name": "helperbot", "bot": True},
                "content": "Logged.",
            }
        )
        lines.append(
            {
                "id": f"{c}-cmd",
                "channel": "river",
                "thread": f"t{c}",
                "timestamp": base,
                "author": {"id": "carol", "name": "carol"},
                "content": "!llmstats",
            }
        )
    text = "\n".join(json.dumps(line) for line in lines[:3]) + "\n{broken line\n"
    return (text + "\n".join(json.dumps(line) for line in lines[3:]) + "\n").encode()


def test_a_bot_imports_its_conversation_logs_and_trains_on_them(
    gateway: TestClient, workers: Workers, registered_model: str
) -> None:
    gateway.put(
        "/api/ml/profiles/chat",
        headers=ALICE,
        json={"base_model": registered_model, "policy": {"min_new_examples": 5}, "hyperparameters": {"n_epochs": 1}},
    )
    upload = gateway.post(
        "/v1/files", headers=ALICE, data={"purpose": "assistants"}, files={"file": ("export.jsonl", _export(8))}
    )
    assert upload.status_code == 200, upload.text
    export_id = upload.json()["id"]
    imported = gateway.post("/api/ml/profiles/chat/import", headers=ALICE, json={"file_id": export_id})
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert report["errors"] == [{"line": 4, "message": report["errors"][0]["message"]}] and report["errors_total"] == 1
    assert report["errors"][0]["message"].startswith("not JSON")
    assert (report["dropped_bot"], report["dropped_command"], report["messages"]) == (8, 8, 24)
    assert report["conversations"] == 8 and report["records"] == 8 and report["duplicates"] == 0
    assert report["version"] == 1 and report["file_id"]
    content = gateway.get(f"/v1/files/{report['file_id']}/content", headers=ALICE).text
    records = [json.loads(line) for line in content.splitlines()]
    assert all(0 <= r["auth_weight"] <= 0.99 and r["prov_entropy"] >= 0 for r in records)
    assert "example.org" not in content and "alice" not in content and "bob" not in content
    assert records[0]["text"].startswith("user1: Measured the river at dawn") and "[email]" in records[0]["text"]

    again = gateway.post("/api/ml/profiles/chat/import", headers=ALICE, json={"file_id": export_id}).json()
    assert again["duplicates"] == 8 and again["records"] == 0 and again["file_id"] is None
    more = gateway.post(
        "/v1/files", headers=ALICE, data={"purpose": "assistants"}, files={"file": ("e2.jsonl", _export(12, start=4))}
    ).json()["id"]
    second = gateway.post("/api/ml/profiles/chat/import", headers=ALICE, json={"file_id": more}).json()
    assert second["duplicates"] == 4 and second["records"] == 8 and second["version"] == 2
    profile = gateway.get("/api/ml/profiles/chat", headers=ALICE).json()
    assert [(f["source"], f["examples"]) for f in profile["files"]] == [(export_id, 8), (more, 8)]

    due = gateway.get("/api/ml/should-train", headers=ALICE, params={"profile": "chat"}).json()
    assert due["should_train"] and due["new_examples"] == 16
    started = gateway.post("/api/ml/train", headers=ALICE, params={"profile": "chat"}, json={})
    assert started.status_code == 200, started.text
    job = _finished(gateway, started.json()["job"]["id"])
    assert job["status"] == "succeeded", (job, workers.logs())
    status = gateway.get("/api/ml/status", headers=ALICE, params={"profile": "chat"}).json()
    assert status["model"] == "ft:alias:chat" and status["alias"]["model"] == job["fine_tuned_model"]

    training = gateway.post(
        "/v1/files", headers=ALICE, data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", b'{"text": "x"}\n')}
    ).json()["id"]
    wrong = gateway.post("/api/ml/profiles/chat/import", headers=ALICE, json={"file_id": training})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "file_id" and "purpose" in wrong.text
