"""Evaluations and exports end to end: HTTP → gateway → trainer service → Celery worker → MLX → storage.

One short fine-tuning job gives a real adapter; it is evaluated side by side with its base, exported (fused,
fused + GGUF, 4-bit), and the exported model is checked against base + adapter with mlx-lm.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlx.core as mx
import pytest
from fastapi.testclient import TestClient

from services.inference.config import InferenceSettings
from services.inference.server import start as start_inference
from shared.settings import RedisSettings, StorageSettings
from tests.helpers.gateway import gateway_client
from tests.helpers.workers import Workers, wait_for

pytestmark = pytest.mark.slow
ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}
PNG = b"\x89PNG\r\n\x1a\n"


def _records(n: int) -> bytes:
    rows = []
    for i in range(n):
        band = i % 3
        text = [
            "Field notebook, day %d: measured the river at dawn and wrote the depth by hand.",
            "The report of year %d summarises several papers on the river.",
            "Officials agree the consensus on item %d is settled, says the agency.",
        ][band] % i
        rows.append({"text": text, "auth_weight": [0.05, 0.5, 0.9][band], "prov_entropy": [7.5, 4.0, 1.0][band]})
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture(scope="module")
def client(
    storage_settings: StorageSettings,
    redis_settings: RedisSettings,
    trainer_target: str,
    workers: Workers,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    if not any(p.poll() is None for p in workers.procs):
        workers.start()
    inference = start_inference(
        InferenceSettings(
            host="127.0.0.1",
            port=0,
            redis=redis_settings,
            storage=storage_settings,
            cache_dir=tmp_path_factory.mktemp("inference-cache"),
        )
    )
    targets = {"trainer_target": trainer_target, "inference_target": f"127.0.0.1:{inference.port}"}
    with gateway_client(storage_settings, redis_settings, **targets) as test_client:
        yield test_client
    inference.stop(0)


def _upload(client: TestClient, data: bytes, purpose: str = "fine-tune") -> str:
    response = client.post("/v1/files", headers=ALICE, data={"purpose": purpose}, files={"file": ("data.jsonl", data)})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _finished(client: TestClient, path: str, workers: Workers, timeout_s: float = 240) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = client.get(path, headers=ALICE).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    body = wait_for(done, timeout_s, f"{path} to finish", poll_s=0.2, workers=workers)
    assert body["status"] == "succeeded", (body, workers.logs())
    return body


@pytest.fixture(scope="module")
def trained(client: TestClient, registered_model: str, workers: Workers) -> dict[str, Any]:
    body = {
        "model": registered_model,
        "training_file": _upload(client, _records(24)),
        "seed": 3,
        "suffix": "evals",
        "hyperparameters": {"max_steps": 6, "batch_size": 4, "learning_rate": 5e-3, "max_seq_length": 48},
        "lora": {"rank": 4, "alpha": 16},
    }
    job = client.post("/v1/fine_tuning/jobs", headers=ALICE, json=body).json()
    return _finished(client, f"/v1/fine_tuning/jobs/{job['id']}", workers)


def test_loss_chart_of_a_job(client: TestClient, trained: dict[str, Any]) -> None:
    response = client.get(f"/v1/fine_tuning/jobs/{trained['id']}/charts/loss.png", headers=ALICE)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG)
    assert client.get(f"/v1/fine_tuning/jobs/{trained['id']}/charts/loss.png", headers=BOB).status_code == 404


def test_evaluation_side_by_side(
    client: TestClient, trained: dict[str, Any], registered_model: str, workers: Workers
) -> None:
    adapter = trained["fine_tuned_model"]
    body = {
        "models": [adapter],
        "seed": 5,
        "name": "e2e",
        "tasks": [
            {"type": "perplexity", "file": _upload(client, _records(12)), "max_seq_length": 48},
            {"type": "source_preference", "method": "letter"},
            {"type": "suite", "suite": "censorship", "max_tokens": 6},
            {"type": "truthfulqa", "limit": 3},
        ],
    }
    created = client.post("/v1/evals", headers=ALICE, json=body)
    assert created.status_code == 200, created.text
    record = created.json()
    assert record["object"] == "eval" and record["status"] == "queued"
    assert record["models"] == [registered_model, adapter]  # the base is added for the side-by-side view
    assert [t["name"] for t in record["tasks"]] == ["perplexity", "source_preference", "suite", "truthfulqa"]
    final = _finished(client, f"/v1/evals/{record['id']}", workers)
    assert final["progress"] == {"done": 8, "total": 8}
    assert final["summary"]

    results = client.get(f"/v1/evals/{record['id']}/results", headers=ALICE).json()
    for model in (registered_model, adapter):
        reports = results["models"][model]
        ppl = reports["perplexity"]
        assert {"low", "mid", "high"} <= set(ppl["bands"])
        ratio = ppl["bands"]["high"]["perplexity"] / ppl["bands"]["low"]["perplexity"]
        assert ppl["distrust_ratio"] == pytest.approx(ratio)
        assert 0 <= reports["source_preference"]["accuracy"] <= 1
        assert len(reports["suite"]["results"]) >= 1
        assert len(reports["truthfulqa"]["results"]) == 3
    base_ppl = results["models"][registered_model]["perplexity"]["bands"]["low"]["perplexity"]
    tuned_ppl = results["models"][adapter]["perplexity"]["bands"]["low"]["perplexity"]
    assert base_ppl != tuned_ppl  # the adapter really was applied

    for chart in ("perplexity", "accuracy"):
        response = client.get(f"/v1/evals/{record['id']}/charts/{chart}.png", headers=ALICE)
        assert response.status_code == 200 and response.content.startswith(PNG), response.text
    with client.stream("GET", f"/v1/evals/{record['id']}/events", headers=ALICE, params={"stream": "true"}) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]" and any('"progress"' in line for line in lines)
    assert client.get(f"/v1/evals/{record['id']}", headers=BOB).status_code == 404
    foreign = client.get(f"/v1/evals/{record['id']}/events", headers=BOB, params={"stream": "true"})
    assert foreign.status_code == 404 and foreign.json()["error"]["code"], foreign.text
    listed = client.get("/v1/evals", headers=ALICE).json()
    assert record["id"] in [e["id"] for e in listed["data"]]


def test_refused_evaluations(client: TestClient, trained: dict[str, Any]) -> None:
    adapter = trained["fine_tuned_model"]
    response = client.post(
        "/v1/evals", headers=BOB, json={"models": [adapter], "tasks": [{"type": "source_preference"}]}
    )
    assert response.status_code == 404 and response.json()["error"]["param"] == "models[0]"
    unscored = _upload(client, b'{"text": "no scores"}\n')
    response = client.post(
        "/v1/evals", headers=ALICE, json={"models": [adapter], "tasks": [{"type": "perplexity", "file": unscored}]}
    )
    assert response.status_code == 400 and "line 1" in response.json()["error"]["message"]
    assert response.json()["error"]["param"] == "tasks[0].file"
    bad_suite = _upload(client, b'{"id": "x", "prompt": "Say something"}\n', purpose="evals")
    response = client.post(
        "/v1/evals", headers=ALICE, json={"models": [adapter], "tasks": [{"type": "suite", "file": bad_suite}]}
    )
    assert response.status_code == 400 and "line 1" in response.json()["error"]["message"], response.text
    response = client.post("/v1/evals", headers=ALICE, json={"models": [adapter], "tasks": [{"type": "vibes"}]})
    assert response.status_code == 400
    response = client.post(
        "/v1/evals", headers=ALICE, json={"models": [adapter], "tasks": [{"type": "suite", "suite": "no-such-suite"}]}
    )
    assert response.status_code == 400 and "no-such-suite" in response.json()["error"]["message"]
    response = client.post(
        "/v1/evals", headers=ALICE, json={"models": [adapter], "tasks": [{"type": "truthfulqa", "limit": 2**40}]}
    )
    assert response.status_code == 400 and "limit" in response.text, response.text


def test_export_round_trip(
    client: TestClient, trained: dict[str, Any], registered_model: str, workers: Workers, tmp_path: Path
) -> None:
    import mlx_lm
    from mlx_lm.sample_utils import make_sampler

    from shared.archive import unpack_tar_gz

    adapter = trained["fine_tuned_model"]
    created = client.post(
        "/v1/models/export",
        headers=ALICE,
        json={"model": adapter, "name": "e2e-fused", "dtype": "float32", "gguf": True},
    )
    assert created.status_code == 200, created.text
    assert created.json()["object"] == "model.export" and created.json()["output_model"] == "e2e-fused"
    # The name is claimed from creation on: an export still queued or running keeps others from taking it.
    racing = client.post("/v1/models/export", headers=BOB, json={"model": adapter, "name": "e2e-fused"})
    assert racing.status_code == 404  # not Bob's adapter
    racing = client.post("/v1/models/export", headers=ALICE, json={"model": adapter, "name": "e2e-fused"})
    assert racing.status_code == 409 and racing.json()["error"]["param"] == "name", racing.text
    export = _finished(client, f"/v1/models/exports/{created.json()['id']}", workers)
    assert export["result"]["gguf"]["bytes"] > 0

    listed = {m["id"]: m for m in client.get("/v1/models", headers=ALICE).json()["data"]}
    assert listed["e2e-fused"]["owned_by"] == "alice"
    assert "e2e-fused" not in {m["id"] for m in client.get("/v1/models", headers=BOB).json()["data"]}
    served = client.post(
        "/v1/completions",
        headers=ALICE,
        json={"model": "e2e-fused", "prompt": "Field notebook", "max_tokens": 12, "temperature": 0},
    )
    assert served.status_code == 200, served.text
    assert (
        client.post(
            "/v1/completions", headers=BOB, json={"model": "e2e-fused", "prompt": "x", "max_tokens": 2}
        ).status_code
        == 404
    )
    again = client.post("/v1/models/export", headers=ALICE, json={"model": adapter, "name": "e2e-fused"})
    assert again.status_code == 409 and again.json()["error"]["param"] == "name"

    assert client.get("/v1/models/e2e-fused/archive", headers=BOB).status_code == 404
    archive = client.get("/v1/models/e2e-fused/archive", headers=ALICE)
    assert archive.status_code == 200
    fused_dir = tmp_path / "fused"
    unpack_tar_gz(io.BytesIO(archive.content), fused_dir)
    base_archive = client.get(f"/v1/models/{registered_model}/archive", headers=ALICE)
    base_dir = tmp_path / "base"
    unpack_tar_gz(io.BytesIO(base_archive.content), base_dir)
    adapter_dir = tmp_path / "adapter"
    unpack_tar_gz(
        io.BytesIO(client.get(f"/v1/fine_tuning/jobs/{trained['id']}/adapter", headers=ALICE).content), adapter_dir
    )
    greedy = make_sampler(temp=0.0)
    fused, tokenizer = mlx_lm.load(str(fused_dir))
    tuned, _ = mlx_lm.load(str(base_dir), adapter_path=str(adapter_dir))
    prompt = "Field notebook, day 4:"
    a = mlx_lm.generate(fused, tokenizer, prompt, max_tokens=12, sampler=greedy)
    b = mlx_lm.generate(tuned, tokenizer, prompt, max_tokens=12, sampler=greedy)
    assert a == b
    assert served.json()["choices"][0]["text"] == mlx_lm.generate(
        fused, tokenizer, "Field notebook", max_tokens=12, sampler=greedy
    )

    gguf = client.get(f"/v1/models/exports/{export['id']}/gguf", headers=ALICE)
    assert gguf.status_code == 200 and gguf.content[:4] == b"GGUF"
    path = tmp_path / "m.gguf"
    path.write_bytes(gguf.content)
    assert len(mx.load(str(path))) > 0

    quant = client.post("/v1/models/export", headers=ALICE, json={"model": adapter, "quantize": {"bits": 4}})
    assert quant.status_code == 200, quant.text
    q = _finished(client, f"/v1/models/exports/{quant.json()['id']}", workers)
    assert q["output_model"].endswith("-fused-q4") and q["result"]["quantization"]
    bad = client.post("/v1/models/export", headers=ALICE, json={"model": adapter, "quantize": {"bits": 3}})
    assert bad.status_code == 400
    assert client.post("/v1/models/export", headers=BOB, json={"model": adapter}).status_code == 404
