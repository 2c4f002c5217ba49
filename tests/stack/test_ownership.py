"""Ownership and scopes over every route of a running stack, generated from its /openapi.json.

The first owner (the stack's admin key) makes one resource of each kind; a second owner's key then gets 404 for
each of them on every operation whose path takes an id, and a key lacking an operation's scope gets 403. A new
route with an id of a kind this test does not know fails here until its resource is added to `_ids`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.stack import OurStack, wait_for_status

pytestmark = pytest.mark.slow

SCORED = "\n".join(
    json.dumps({"text": f"Primary record {i}: the ledger of 1871.", "auth_weight": 0.1 * (i % 9), "prov_entropy": 5.0})
    for i in range(16)
).encode()
TINY = "distrust-tiny-llama"
HELLO = {"role": "user", "content": "hi"}
SCOPES = ("inference", "training", "files", "admin")
# Admins manage every owner's keys by design: these ids are not the owner's resources.
CROSS_OWNER = ("/v1/api_keys/",)
# Names in each owner's own namespace: another owner's PUT creates their own alias of that name (checked below).
OWN_NAMESPACE = {("PUT", "/v1/aliases/{name}")}
# A path parameter that is not an id: the value to send.
FIXED = {"chart": "loss"}


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _key(admin: httpx.Client, owner: str, scopes: list[str]) -> dict[str, str]:
    created = _ok(
        admin.post("/v1/api_keys", json={"name": f"{owner}-{'-'.join(scopes)}", "owner": owner, "scopes": scopes})
    )
    return {"Authorization": f"Bearer {created['value']}"}


def _upload(client: httpx.Client, name: str, content: bytes, purpose: str) -> str:
    return str(_ok(client.post("/v1/files", data={"purpose": purpose}, files={"file": (name, content)}))["id"])


def _finished(client: httpx.Client, path: str) -> dict[str, Any]:
    done: dict[str, Any] = wait_for_status(client, path, timeout_s=300)
    assert done["status"] == "succeeded", done
    return done


def _ids(admin: httpx.Client) -> dict[str, str]:
    """One resource of each kind for the stack key's owner, by the collection path that holds it."""
    file_id = _upload(admin, "train.jsonl", SCORED, "fine-tune")
    job = _ok(
        admin.post(
            "/v1/fine_tuning/jobs",
            json={
                "model": TINY,
                "training_file": file_id,
                "hyperparameters": {"batch_size": 2, "n_epochs": 1, "max_steps": 2},
            },
        )
    )
    model = _finished(admin, f"/v1/fine_tuning/jobs/{job['id']}")["fine_tuned_model"]
    export = _ok(admin.post("/v1/models/export", json={"model": model, "name": "swept-export"}))
    _finished(admin, f"/v1/models/exports/{export['id']}")
    archive = admin.get("/v1/models/swept-export/archive")
    assert archive.status_code == 200, archive.text
    model_file = _upload(admin, "swept.tar.gz", archive.content, "model")
    imported = _ok(admin.post("/v1/models", json={"file": model_file, "name": "swept-import"}))
    preparation = _ok(admin.post("/v1/datasets/prepare", json={"inputs": [{"file_id": file_id}]}))
    evaluation = _ok(
        admin.post("/v1/evals", json={"models": [model], "tasks": [{"type": "suite", "suite": "authority"}]})
    )
    line = {
        "custom_id": "a",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [HELLO]},
    }
    requests = _upload(admin, "batch.jsonl", json.dumps(line).encode() + b"\n", "batch")
    batch = _ok(
        admin.post(
            "/v1/batches",
            json={"input_file_id": requests, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        )
    )
    store = _ok(admin.post("/v1/vector_stores", json={"name": "swept"}))
    _ok(admin.put("/v1/aliases/swept-alias", json={"model": model}))
    return {
        "/v1/aliases": "swept-alias",
        "/v1/vector_stores": store["id"],
        "/v1/files": file_id,
        "/v1/fine_tuning/jobs": job["id"],
        "/v1/models": "swept-export",
        "/v1/models/exports": export["id"],
        "/v1/models/imports": imported["id"],
        "/v1/datasets/jobs": preparation["id"],
        "/v1/evals": evaluation["id"],
        "/v1/batches": batch["id"],
        "batch_file": requests,
        "fine_tuned_model": model,
    }


def _fill(path: str, ids: dict[str, str]) -> str:
    """The path with the first owner's resource in its id parameter (and fixed values in the others)."""
    params = re.findall(r"\{(\w+)(?::path)?\}", path)
    collection = path.split("/{", 1)[0]
    filled = path
    for name in params:
        value = FIXED.get(name) or ids.get(collection)
        assert value is not None, f"{path}: no resource of the first owner for {{{name}}}; add one to _ids"
        filled = re.sub(r"\{" + name + r"(:path)?\}", value, filled)
    return filled


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path, the scope it needs) of every /v1 operation."""
    return [
        (method.upper(), path, operation["security"][0]["APIKey"][0])
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if path.startswith("/v1/")
    ]


# Operations whose body has required fields: a valid body, so that the answer is about the id, not the body.
BODIES = {
    "/search": {"query": "ledger"},
    "/vector_stores/{vector_store_id}/files": {"file_id": "file-0"},
    "/file_batches": {"file_ids": ["file-0"]},
    "/files/{file_id}": {"attributes": {}},
}


def _body(method: str, path: str) -> dict[str, Any] | None:
    if method != "POST":
        return None
    return next((body for suffix, body in BODIES.items() if path.endswith(suffix)), {})


def test_a_second_owner_gets_404_and_a_key_without_the_scope_403(tmp_path: Path) -> None:
    with OurStack(tmp_path) as stack, stack.client() as admin:
        spec = _ok(admin.get("/openapi.json"))
        operations = _operations(spec)
        ids = _ids(admin)
        bob = _key(admin, "bob", ["inference", "training", "files"])
        ids["/v1/api_keys"] = _ok(admin.get("/v1/api_keys"))["data"][0]["id"]

        with_ids = [
            (m, p, s)
            for m, p, s in operations
            if "{" in p and not p.startswith(CROSS_OWNER) and (m, p) not in OWN_NAMESPACE
        ]
        assert len(with_ids) >= 20
        leaks = []
        for method, path, _scope in with_ids:
            response = admin.request(method, _fill(path, ids), headers=bob, json=_body(method, path))
            error = (
                response.json().get("error", {}) if response.headers.get("content-type") == "application/json" else {}
            )
            if response.status_code != 404 or not error.get("message"):
                leaks.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        assert leaks == [], leaks

        # Ids inside request bodies and queries are checked before anything is queued: another owner's id is
        # answered exactly as an id that does not exist (no existence oracle).
        model, file_id = ids["fine_tuned_model"], ids["/v1/files"]
        suite = [{"type": "suite", "suite": "authority"}]
        cases = {
            "fine-tuning on a file": ("/v1/fine_tuning/jobs", file_id, lambda i: {"model": TINY, "training_file": i}),
            "preparing a file": ("/v1/datasets/prepare", file_id, lambda i: {"inputs": [{"file_id": i}]}),
            "importing a file": ("/v1/models", file_id, lambda i: {"file": i}),
            "exporting a model": ("/v1/models/export", model, lambda i: {"model": i}),
            "evaluating a model": ("/v1/evals", model, lambda i: {"models": [i], "tasks": suite}),
            "chatting": ("/v1/chat/completions", model, lambda i: {"model": i, "messages": [HELLO]}),
            "completing": ("/v1/completions", model, lambda i: {"model": i, "prompt": "hi", "max_tokens": 1}),
            "embedding": ("/v1/embeddings", model, lambda i: {"model": i, "input": "hi"}),
            "batching a file": (
                "/v1/batches",
                ids["batch_file"],
                lambda i: {"input_file_id": i, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
            ),
        }
        differs = {}
        for what, (path, value, body) in cases.items():
            theirs = admin.post(path, headers=bob, json=body(value))
            missing = admin.post(path, headers=bob, json=body(value + "x"))
            seen = (theirs.status_code, theirs.json()["error"]["code"], theirs.json()["error"]["param"])
            if seen != (missing.status_code, missing.json()["error"]["code"], missing.json()["error"]["param"]):
                differs[what] = f"{theirs.text[:200]} vs {missing.text[:200]}"
            elif theirs.status_code not in (400, 404):
                differs[what] = theirs.text[:200]
        # Bob's alias of the same name is his own, and cannot point at the first owner's model.
        pointed = admin.put("/v1/aliases/swept-alias", headers=bob, json={"model": model})
        assert pointed.status_code == 404 and pointed.json()["error"]["param"] == "model", pointed.text
        assert admin.get("/v1/aliases/swept-alias").json()["model"] == model  # the first owner's is untouched
        sized = admin.get("/v1/hardware/recommendation", headers=bob, params={"model": "swept-export"})
        assert sized.status_code == 404, sized.text
        assert differs == {}, differs
        listed = {
            path: admin.get(path, headers=bob).text
            for path in (
                "/v1/files",
                "/v1/fine_tuning/jobs",
                "/v1/models",
                "/v1/models/exports",
                "/v1/models/imports",
                "/v1/evals",
                "/v1/batches",
            )
        }
        for path, text in listed.items():
            assert not any(value in text for value in ids.values()), (path, text[:500])

        # No secret in what the stack shows (its logs are checked at the end of the run, see tests/conftest.py).
        secrets = json.loads((tmp_path / "data" / "secrets.json").read_text()).values()
        shown = admin.get("/readyz").text + admin.get("/metrics").text + admin.get("/v1/api_keys").text
        assert not any(secret in shown for secret in secrets)

        # A key lacking an operation's scope is refused (403 naming the scope) before the id or body is looked at.
        lacking = {scope: _key(admin, "local-scoped", [s for s in SCOPES if s != scope]) for scope in SCOPES}
        unscoped = []
        for method, path, scope in operations:
            response = admin.request(
                method, _fill(path, ids) if "{" in path else path, headers=lacking[scope], json=_body(method, path)
            )
            if response.status_code != 403 or response.json()["error"]["code"] != "missing_scope":
                unscoped.append(f"{method} {path} ({scope}): {response.status_code} {response.text[:200]}")
        assert unscoped == [], unscoped
