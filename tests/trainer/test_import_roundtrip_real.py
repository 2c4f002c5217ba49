"""Import round trip on the real model: the SmolLM2 GGUF uploaded, imported by a Celery worker into the registry,
pulled back as an archive (`GET /v1/models/{model}/archive`), loaded by `mlx_lm.load`.

The inference service has no logits or logprobs output, so the served side is compared on greedy text over 32
tokens; the archive's logits are compared with the importer's own output for the same GGUF and options (the
cached fixture), absolute 1e-4: the archive must be those very weights.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
from fastapi.testclient import TestClient
from mlx_lm import load

from tests.helpers.smollm2 import smollm2_folder, smollm2_gguf
from tests.helpers.workers import Workers, wait_for
from tests.real.logits import GREEDY_TOKENS, QUESTION, chat_prompt, mlx_lm_greedy, prompt_logits
from tests.trainer.test_imports_e2e import gateway  # noqa: F401  # the same stack: worker, inference, gateway

pytestmark = [pytest.mark.slow, pytest.mark.real_model]
HEADERS = {"Authorization": "Bearer key-alice"}
NAME = "smollm2-roundtrip"
LOGIT_ATOL = 1e-4


def import_smollm2(client: TestClient, workers: Workers) -> None:
    with smollm2_gguf().open("rb") as stream:
        uploaded = client.post("/v1/files", headers=HEADERS, data={"purpose": "model"}, files={"file": stream})
    assert uploaded.status_code == 200, uploaded.text
    created = client.post("/v1/models", headers=HEADERS, json={"file": uploaded.json()["id"], "name": NAME})
    assert created.status_code == 200, created.text

    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v1/models/imports/{created.json()['id']}", headers=HEADERS).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    job = wait_for(done, 600, "the import", poll_s=0.5)
    assert isinstance(job, dict) and job["status"] == "succeeded", (job, workers.logs())


def pull_archive(client: TestClient, into: Path) -> Path:
    response = client.get(f"/v1/models/{NAME}/archive", headers=HEADERS)
    assert response.status_code == 200, response.text
    (into / "model.tar.gz").write_bytes(response.content)
    with tarfile.open(into / "model.tar.gz") as archive:
        archive.extractall(into, filter="data")
    return into / NAME


def test_gguf_to_registry_to_archive_to_mlx_lm(gateway: TestClient, workers: Workers, tmp_path: Path) -> None:  # noqa: F811  # the imported fixture
    import_smollm2(gateway, workers)
    model, tokenizer = load(str(pull_archive(gateway, tmp_path)))[:2]
    local = mlx_lm_greedy(model, tokenizer, max_tokens=GREEDY_TOKENS)
    assert "Paris" in local, local

    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="key-alice", http_client=gateway, max_retries=0)
    chat = sdk.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": QUESTION}], temperature=0, max_tokens=GREEDY_TOKENS
    )
    assert chat.choices[0].message.content == local

    imported, _ = load(str(smollm2_folder("q4")))[:2]
    tokens = chat_prompt(tokenizer)
    assert np.abs(prompt_logits(model, tokens) - prompt_logits(imported, tokens)).max() <= LOGIT_ATOL
